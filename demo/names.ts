/** The last path segment of a URL or model id: what the app calls a model. */
export function shortName(id: string): string {
  const parts = id.split(/[?#]/)[0]!.replace(/\/+$/, '').split('/');
  return parts[parts.length - 1] || id;
}
