/**
 * Connection passwords: kept in VS Code's SecretStorage (the OS keychain), never in
 * settings.json, and merged into the connection URL only when it is handed to the
 * server. The store is injected (vscode.SecretStorage has the same shape), so the URL
 * handling is unit-tested in Node. Anything this extension logs goes through
 * {@link redactUrl} first.
 */

/** The subset of vscode.SecretStorage used here. */
export interface SecretStore {
  get(key: string): PromiseLike<string | undefined>;
  store(key: string, value: string): PromiseLike<void>;
  delete(key: string): PromiseLike<void>;
}

const KEY_PREFIX = "text2sql.connectionPassword:";

/** The SecretStorage key for a connection (its name, or its URL when it has no name). */
export function secretKey(connectionKey: string): string {
  return KEY_PREFIX + connectionKey;
}

/**
 * The parts of a SQLAlchemy URL (`dialect+driver://user:password@host:port/database?query`)
 * that matter here, split exactly as SQLAlchemy's URL parser splits them.
 */
interface UrlParts {
  scheme: string;
  username?: string;
  password?: string;
  rest: string;
}

const URL_SHAPE = /^([A-Za-z][\w+]*):\/\/(.*)$/s;

/** SQLAlchemy's own rule: user `[^:/]*`, then optionally `:password` with no "@", then "@". */
const USERINFO_SHAPE = /^([^:/]*)(?::([^@]*))?@(.*)$/s;

function splitUrl(url: string): UrlParts | undefined {
  const match = URL_SHAPE.exec(url);
  if (!match) {
    return undefined;
  }
  const [, scheme, afterScheme] = match;
  const userinfo = USERINFO_SHAPE.exec(afterScheme);
  if (!userinfo) {
    return { scheme, rest: afterScheme };
  }
  const [, username, password, rest] = userinfo;
  return { scheme, username, password, rest };
}

/** True when `url` carries a password itself (discouraged: it would sit in settings.json). */
export function hasInlinePassword(url: string): boolean {
  const parts = splitUrl(url);
  return parts?.password !== undefined && parts.password !== "";
}

/** The user name in `url`, if any (decoded), for prompts such as "Password for me@host". */
export function urlUsername(url: string): string | undefined {
  const username = splitUrl(url)?.username;
  return username ? decodeURIComponent(username) : undefined;
}

/** Percent-encode a password the way SQLAlchemy's URL parser decodes it. */
function encodePassword(password: string): string {
  return encodeURIComponent(password);
}

/**
 * `url` with `password` in its userinfo. A password already in the URL is replaced. A URL
 * without a user name cannot carry a password, which is an error the user must fix.
 */
export function withPassword(url: string, password: string): string {
  const parts = splitUrl(url);
  if (!parts) {
    throw new Error(`Not a SQLAlchemy URL: ${redactUrl(url)}`);
  }
  if (!parts.username) {
    throw new Error(
      `The connection ${redactUrl(url)} has no user name, so a password cannot be used: write it as ${parts.scheme}://USER@${parts.rest}`,
    );
  }
  return `${parts.scheme}://${parts.username}:${encodePassword(password)}@${parts.rest}`;
}

/** `url` with any password replaced by `***`; text that is not a URL is returned as is. */
export function redactUrl(url: string): string {
  const parts = splitUrl(url);
  if (!parts || parts.password === undefined) {
    return url;
  }
  return `${parts.scheme}://${parts.username ?? ""}:***@${parts.rest}`;
}

/** Redact every SQLAlchemy URL inside a longer text (log lines, error messages). */
export function redactText(text: string): string {
  return text.replace(/([A-Za-z][\w+]*:\/\/[^\s:/@]*):[^\s@]*@/g, "$1:***@");
}

/**
 * The connection URL to hand to the server: `value` with the password stored for `key`
 * merged in, or `value` unchanged when no password is stored or it is not a URL
 * (a config-file name, or "" for the demo database).
 */
export async function connectionUrlWithSecret(key: string, value: string, store: SecretStore): Promise<string> {
  if (key === "" || !URL_SHAPE.test(value)) {
    return value;
  }
  const password = await store.get(secretKey(key));
  return password === undefined || password === "" ? value : withPassword(value, password);
}

/** Store (or with "" delete) the password for a connection key. */
export async function setConnectionPassword(key: string, password: string, store: SecretStore): Promise<void> {
  if (password === "") {
    await store.delete(secretKey(key));
  } else {
    await store.store(secretKey(key), password);
  }
}
