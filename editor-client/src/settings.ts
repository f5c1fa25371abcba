/**
 * The extension's settings: read and validate the `text2sql.*` configuration, map it to
 * the language server's initializationOptions, and decide whether a change needs a
 * server restart (a new process: interpreter, log level) or only a reconfigure
 * (`workspace/didChangeConfiguration`: the server reloads the model itself when model,
 * adapter, precision or device change). Changes arrive in bursts while a user edits
 * settings.json, so they are debounced here.
 * No `vscode` import: the configuration is read through an injected getter.
 */

import type { LogLevel } from "./launch";

export const PRECISIONS = ["auto", "nf4", "int8", "w8a16", "bf16", "fp32"] as const;
export const TRIGGERS = ["auto", "manual"] as const;
export const LOG_LEVELS = ["error", "warning", "info", "debug"] as const;
export type Precision = (typeof PRECISIONS)[number];
export type Trigger = (typeof TRIGGERS)[number];

/** `auto`, `cpu`, `cuda`, `cuda:N` (what the engine accepts). */
const DEVICE_PATTERN = /^(auto|cpu|cuda(:\d+)?)$/;
/** A SQLAlchemy URL: `dialect[+driver]://...`. */
const URL_PATTERN = /^[A-Za-z][\w+]*:\/\//;
/** Connection names become SecretStorage keys and quick-pick labels. */
const NAME_PATTERN = /^[\w.-]+$/;

/** The validated `text2sql.*` settings. Empty strings mean "the server's default". */
export interface ExtensionSettings {
  python: string;
  /** Named SQLAlchemy URLs from `text2sql.connections`. */
  connections: Record<string, string>;
  /** A name from `connections` or the user config file, a URL, or "" for the Chinook demo. */
  connection: string;
  model: string;
  adapter: string;
  precision: Precision;
  device: string;
  trigger: Trigger;
  /** 0 means the server's default. */
  maxTokens: number;
  logLevel: LogLevel;
}

export const DEFAULT_SETTINGS: ExtensionSettings = {
  python: "",
  connections: {},
  connection: "",
  model: "",
  adapter: "",
  precision: "auto",
  device: "auto",
  trigger: "auto",
  maxTokens: 0,
  logLevel: "info",
};

/** Reads one `text2sql.<key>` value (WorkspaceConfiguration.get in the extension). */
export type SettingGetter = (key: string) => unknown;

export interface ReadResult {
  settings: ExtensionSettings;
  /** One line per invalid value, each naming the setting and the fallback used. */
  problems: string[];
}

function readString(get: SettingGetter, key: keyof ExtensionSettings, problems: string[]): string {
  const value = get(key);
  if (value === undefined || value === null) {
    return DEFAULT_SETTINGS[key] as string;
  }
  if (typeof value !== "string") {
    problems.push(`text2sql.${key} must be a string; using the default.`);
    return DEFAULT_SETTINGS[key] as string;
  }
  return value.trim();
}

function readChoice<T extends string>(
  get: SettingGetter,
  key: keyof ExtensionSettings,
  choices: readonly T[],
  problems: string[],
): T {
  const fallback = DEFAULT_SETTINGS[key] as T;
  const value = get(key);
  if (value === undefined || value === null || value === "") {
    return fallback;
  }
  if (typeof value === "string" && (choices as readonly string[]).includes(value)) {
    return value as T;
  }
  problems.push(`text2sql.${key} is ${JSON.stringify(value)}, not one of ${choices.join(", ")}; using "${fallback}".`);
  return fallback;
}

function readConnections(get: SettingGetter, problems: string[]): Record<string, string> {
  const value = get("connections");
  if (value === undefined || value === null) {
    return {};
  }
  if (typeof value !== "object" || Array.isArray(value)) {
    problems.push("text2sql.connections must be an object of name -> SQLAlchemy URL; ignoring it.");
    return {};
  }
  const connections: Record<string, string> = {};
  for (const [name, url] of Object.entries(value as Record<string, unknown>)) {
    if (!NAME_PATTERN.test(name)) {
      problems.push(`text2sql.connections: the name "${name}" may only use letters, digits, ".", "_" and "-"; skipped.`);
    } else if (typeof url !== "string" || !URL_PATTERN.test(url.trim())) {
      problems.push(`text2sql.connections.${name} is not a SQLAlchemy URL such as "postgresql://user@host/db"; skipped.`);
    } else {
      connections[name] = url.trim();
    }
  }
  return connections;
}

/** Read and validate every `text2sql.*` setting; invalid values fall back to defaults. */
export function readSettings(get: SettingGetter): ReadResult {
  const problems: string[] = [];
  const device = readString(get, "device", problems) || "auto";
  const maxTokensRaw = get("maxTokens");
  let maxTokens = DEFAULT_SETTINGS.maxTokens;
  if (maxTokensRaw !== undefined && maxTokensRaw !== null) {
    if (typeof maxTokensRaw === "number" && Number.isInteger(maxTokensRaw) && maxTokensRaw >= 0 && maxTokensRaw <= 4096) {
      maxTokens = maxTokensRaw;
    } else {
      problems.push(`text2sql.maxTokens must be an integer from 1 to 4096 (0 = server default); using the server default.`);
    }
  }
  const settings: ExtensionSettings = {
    python: readString(get, "python", problems),
    connections: readConnections(get, problems),
    connection: readString(get, "connection", problems),
    model: readString(get, "model", problems),
    adapter: readString(get, "adapter", problems),
    precision: readChoice(get, "precision", PRECISIONS, problems),
    device: DEVICE_PATTERN.test(device) ? device : "auto",
    trigger: readChoice(get, "trigger", TRIGGERS, problems),
    maxTokens,
    logLevel: readChoice(get, "logLevel", LOG_LEVELS, problems),
  };
  if (!DEVICE_PATTERN.test(device)) {
    problems.push(`text2sql.device is "${device}", not auto, cpu, cuda or cuda:N; using "auto".`);
  }
  return { settings, problems };
}

// --- Connections ---------------------------------------------------------------------------

/** What `text2sql.connection` refers to. */
export interface ConnectionTarget {
  /** The key passwords are stored under: the connection name, or the URL itself. */
  key: string;
  /** The label shown to the user. */
  label: string;
  /** What the server receives before a password is merged in: a URL, a config name, or "". */
  value: string;
  kind: "named" | "url" | "config-file" | "demo";
}

/** Resolve `text2sql.connection` against `text2sql.connections`. */
export function connectionTarget(settings: ExtensionSettings): ConnectionTarget {
  const selected = settings.connection;
  if (selected === "") {
    return { key: "", label: "Chinook demo", value: "", kind: "demo" };
  }
  const named = settings.connections[selected];
  if (named !== undefined) {
    return { key: selected, label: selected, value: named, kind: "named" };
  }
  if (URL_PATTERN.test(selected)) {
    return { key: selected, label: selected, value: selected, kind: "url" };
  }
  // Not in the VS Code settings: the server looks the name up in the user config file.
  return { key: selected, label: selected, value: selected, kind: "config-file" };
}

/** A setting that is valid JSON but cannot be used as it is (e.g. a variable with no value). */
export class SettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SettingsError";
  }
}

/**
 * Expand the VS Code variables `${workspaceFolder}`, `${userHome}` and `${env:NAME}` in a
 * connection URL (VS Code does not expand variables in settings itself). Plain `${NAME}`
 * is left for the server, which expands environment variables in connection URLs.
 */
export function expandConnectionVariables(
  url: string,
  context: { workspaceFolder?: string; homeDir: string; env: Record<string, string | undefined> },
): string {
  return url.replace(/\$\{(workspaceFolder|userHome|env:([A-Za-z_][A-Za-z0-9_]*))\}/g, (_match, key: string, envName?: string) => {
    if (key === "workspaceFolder") {
      if (context.workspaceFolder === undefined) {
        throw new SettingsError("The connection uses ${workspaceFolder} but no folder is open; open the folder or use an absolute path.");
      }
      return context.workspaceFolder.replace(/\\/g, "/");
    }
    if (key === "userHome") {
      return context.homeDir.replace(/\\/g, "/");
    }
    const value = context.env[envName ?? ""];
    if (value === undefined) {
      throw new SettingsError(`The connection uses \${env:${envName}} but the environment variable ${envName} is not set.`);
    }
    return value;
  });
}

// --- Server options ------------------------------------------------------------------------

/** The language server's settings, as sent in initializationOptions and didChangeConfiguration. */
export interface ServerSettings {
  connection?: string;
  model?: string;
  adapter?: string;
  precision: Precision;
  device: string;
  trigger: Trigger;
  maxTokens?: number;
}

/**
 * Map the extension settings to the server's settings. `connectionUrl` is the connection
 * with any stored password already merged in (see secrets.ts); unset values are omitted
 * so the server applies its own defaults.
 */
export function toServerSettings(settings: ExtensionSettings, connectionUrl: string): ServerSettings {
  const out: ServerSettings = {
    precision: settings.precision,
    device: settings.device,
    trigger: settings.trigger,
  };
  if (connectionUrl !== "") {
    out.connection = connectionUrl;
  }
  if (settings.model !== "") {
    out.model = settings.model;
  }
  if (settings.adapter !== "") {
    out.adapter = settings.adapter;
  }
  if (settings.maxTokens > 0) {
    out.maxTokens = settings.maxTokens;
  }
  return out;
}

// --- Change handling -----------------------------------------------------------------------

export type ChangeImpact = "none" | "reconfigure" | "restart";

/** Settings of the server process itself (its command line): changing one starts a new process. */
const RESTART_KEYS: ReadonlyArray<keyof ExtensionSettings> = ["python", "logLevel"];
/**
 * Settings the running server applies from workspace/didChangeConfiguration; it loads
 * the model again in the background when model, adapter, precision or device change.
 */
const RECONFIGURE_KEYS: ReadonlyArray<keyof ExtensionSettings> = [
  "connection",
  "connections",
  "trigger",
  "maxTokens",
  "model",
  "adapter",
  "precision",
  "device",
];

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** What a change from `previous` to `next` requires. */
export function classifyChange(previous: ExtensionSettings, next: ExtensionSettings): ChangeImpact {
  if (RESTART_KEYS.some((key) => !same(previous[key], next[key]))) {
    return "restart";
  }
  if (RECONFIGURE_KEYS.some((key) => !same(previous[key], next[key]))) {
    return "reconfigure";
  }
  return "none";
}

const IMPACT_ORDER: Record<ChangeImpact, number> = { none: 0, reconfigure: 1, restart: 2 };

/** The stronger of two impacts (a restart also reconfigures). */
export function strongerImpact(a: ChangeImpact, b: ChangeImpact): ChangeImpact {
  return IMPACT_ORDER[a] >= IMPACT_ORDER[b] ? a : b;
}

/**
 * Collects change notifications and acts once the burst is over: `apply` is called with
 * the strongest impact seen since the last call, `delayMs` after the last notification.
 */
export class ChangeDebouncer {
  private pending: ChangeImpact = "none";
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly delayMs: number,
    private readonly apply: (impact: ChangeImpact) => void | Promise<void>,
  ) {}

  /** Record one change; restarts the quiet-period timer. */
  notify(impact: ChangeImpact): void {
    if (impact === "none") {
      return;
    }
    this.pending = strongerImpact(this.pending, impact);
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const impactNow = this.pending;
      this.pending = "none";
      void this.apply(impactNow);
    }, this.delayMs);
  }

  /** Drop anything pending (on deactivate). */
  dispose(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.pending = "none";
  }
}
