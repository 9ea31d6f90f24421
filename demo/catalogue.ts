// The models the picker offers. The tiny demo package ships with the site (models/ beside
// index.html); the real ERNIE packages' URLs come from the build (VITE_ERNIE_21B_URL,
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
  ];
  if (env.VITE_ERNIE_21B_URL) list.push({ id: 'ernie-21b', name: 'ERNIE-4.5-21B-A3B', note: 'Text, 21B parameters (3B active). Needs ~10 GB of storage.', url: env.VITE_ERNIE_21B_URL });
  if (env.VITE_ERNIE_VL_URL) list.push({ id: 'ernie-vl', name: 'ERNIE-4.5-VL-28B-A3B', note: 'Vision-language, 28B parameters (3B active).', url: env.VITE_ERNIE_VL_URL });
  return list;
}
