// Downloads an authenticated API resource as a file without putting a token in a URL.

import { ApiError } from './api.js';
import * as session from './api.js';

export async function downloadBlob(path, filename) {
  const token = await session.accessTokenForDownload();
  const resp = await fetch(path, { headers: { Authorization: `Bearer ${token}` } });
  if (!resp.ok) throw new ApiError(resp.status, await resp.json().catch(() => null));
  const url = URL.createObjectURL(await resp.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
