// The models the picker offers. The tiny demo packages ship with the site (models/ beside
// index.html: a text MoE and a VL model, both random weights); the real ERNIE packages' URLs come from the build (VITE_ERNIE_21B_URL,
// VITE_ERNIE_VL_URL) and are left out of the list when not set.
export interface CatalogueEntry {
  id: string;
  name: string;
  note: string;
  /** Base URL of the package folder (manifest.json inside). */
  url: string;
}

export function catalogue(pageUrl: string = location.href): CatalogueEntry[] {
  const env = import.meta.env as Record<string, string | undefined>;
  const list: CatalogueEntry[] = [
    { id: 'tiny', name: 'ERNIE 4.5 MoE tiny (demo)', note: 'Random weights, a few MB: proves the engine runs, talks nonsense.', url: new URL('models/ernie45-moe-tiny/', pageUrl).href },
    { id: 'tiny-vl', name: 'ERNIE 4.5 VL tiny (demo)', note: 'Random weights, 3 MB, reads images: attach one to try the image path; talks nonsense.', url: new URL('models/ernie45-vl-tiny/', pageUrl).href },
  ];
  if (env.VITE_ERNIE_21B_URL) list.push({ id: 'ernie-21b', name: 'ERNIE-4.5-21B-A3B', note: 'Text, 21B parameters (3B active). Needs ~10 GB of storage.', url: env.VITE_ERNIE_21B_URL });
  if (env.VITE_ERNIE_VL_URL) list.push({ id: 'ernie-vl', name: 'ERNIE-4.5-VL-28B-A3B', note: 'Vision-language, 28B parameters (3B active).', url: env.VITE_ERNIE_VL_URL });
  return list;
}
