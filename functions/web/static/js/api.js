// The HTTP API client and the API key it sends. The key is the one typed into the header's field, kept in this
// tab's session storage; it goes as a Bearer header over HTTP and as the apiKey query parameter on the WebSocket
// (a browser cannot set headers on the upgrade). A 401 forgets it and says so with a KEY_REFUSED event on
// document, which the header's field shows. GET api/config and the page itself need no key.

const API_KEY_ITEM = "orderEngineApiKey";
export const KEY_REFUSED = "orderpage:key-refused"; // detail: {hadKey}: a key was sent and refused, or none was

export class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `The API answered ${status}.`);
    this.status = status;
    this.code = error.code || "http_" + status;
    this.details = Array.isArray(error.details) ? error.details : [];
  }
}

export function storedApiKey() {
  return sessionStorage.getItem(API_KEY_ITEM) || null;
}

export function storeApiKey(key) {
  if (key) sessionStorage.setItem(API_KEY_ITEM, key);
  else sessionStorage.removeItem(API_KEY_ITEM);
}

export function withApiKey(url) {
  const key = storedApiKey();
  if (!key) return url;
  return url + (url.includes("?") ? "&" : "?") + "apiKey=" + encodeURIComponent(key);
}

export async function api(path, options = {}) {
  const init = { ...options, headers: { accept: "application/json", ...(options.headers || {}) } };
  const key = path === "api/config" ? null : storedApiKey();
  if (key) init.headers.authorization = "Bearer " + key;
  if (options.json !== undefined) {
    init.method = init.method || "POST";
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(options.json);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (err) {
    throw new ApiError(0, { error: { message: "The API cannot be reached; check your connection." } });
  }
  const text = await response.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch (err) { body = null; }
  // only the key this request sent is forgotten: one typed in while it was in flight is still untried
  if (response.status === 401 && storedApiKey() === key) {
    storeApiKey(null);
    document.dispatchEvent(new CustomEvent(KEY_REFUSED, { detail: { hadKey: Boolean(key) } }));
  }
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}
