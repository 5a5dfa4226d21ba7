// Light and dark themes: follows prefers-color-scheme until the user picks one with the
// toggle. The choice is kept for this page's life only (nothing in browser storage).

let forced = null;

export function applyTheme() {
  const root = document.documentElement;
  if (forced) root.dataset.theme = forced; else delete root.dataset.theme;
}

export function currentTheme() {
  if (forced) return forced;
  return window.matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

export function toggleTheme() {
  forced = currentTheme() === 'dark' ? 'light' : 'dark';
  applyTheme();
  return forced;
}
