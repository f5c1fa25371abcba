/**
 * What the status bar item says. The client's own phase (starting, stopped, failed to
 * launch) and the server's answer to the custom `text2sql/status` request (model state,
 * schema, generation activity) become one short text, a tooltip and a severity. Parsing
 * is defensive: a malformed answer yields "unknown" fields, never an exception.
 * No `vscode` import; extension.ts applies the view to a StatusBarItem.
 */

/** The custom request the server answers with its state. */
export const STATUS_REQUEST = "text2sql/status";
/** Its params: an empty object (pygls rejects a request to a custom method without params). */
export const STATUS_PARAMS = {};

export type ModelState = "loading" | "ready" | "error" | "unknown";

/** The fields of a `text2sql/status` answer this client uses. */
export interface ServerStatus {
  model: ModelState;
  modelName?: string;
  modelError?: string;
  schemaVersion?: string;
  schemaError?: string;
  connection?: string;
  tables?: number;
  running: number;
  cancelled: number;
  finished: number;
  cacheHits: number;
}

/** The client side of the picture. */
export type ClientPhase = "starting" | "running" | "stopped" | "failed";

export interface StatusInput {
  phase: ClientPhase;
  /** The latest `text2sql/status` answer, once the server is running. */
  server?: ServerStatus;
  /** Why the client failed or stopped (already redacted). */
  error?: string;
  /** The connection label shown in the item (never a URL with a password). */
  connectionLabel?: string;
}

export interface StatusView {
  text: string;
  tooltip: string;
  severity: "normal" | "warning" | "error";
  /** True while something is in progress, so the caller keeps polling quickly. */
  busy: boolean;
}

function asRecord(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function asString(value: unknown): string | undefined {
  if (typeof value === "string" && value !== "") {
    return value;
  }
  return typeof value === "number" ? String(value) : undefined;
}

function asCount(value: unknown): number {
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : 0;
}

function modelState(value: unknown): ModelState {
  switch (value) {
    case "loading":
    case "not_loaded":
    case "pending":
    case "starting":
      return "loading";
    case "ready":
    case "loaded":
      return "ready";
    case "error":
    case "failed":
      return "error";
    default:
      return "unknown";
  }
}

/** Read a `text2sql/status` answer; unknown or missing fields get neutral values. */
export function parseServerStatus(raw: unknown): ServerStatus {
  const root = asRecord(raw);
  const model = asRecord(root.model);
  const schema = asRecord(root.schema);
  const activity = asRecord(root.activity ?? root.generation);
  const cache = asRecord(root.cache);
  return {
    model: modelState(model.state ?? root.model_state ?? root.modelState),
    modelName: asString(model.name ?? model.model),
    modelError: asString(model.error),
    schemaVersion: asString(schema.version ?? root.schema_version ?? root.schemaVersion),
    schemaError: asString(schema.error),
    connection: asString(schema.connection ?? root.connection),
    tables: typeof schema.tables === "number" ? schema.tables : undefined,
    running: asCount(activity.running),
    cancelled: asCount(activity.cancelled),
    finished: asCount(activity.finished),
    cacheHits: asCount(cache.hits ?? root.cache_hits ?? root.cacheHits),
  };
}

const PREFIX = "Text2SQL";

/** The status bar view for the current client phase and server status. */
export function renderStatus(input: StatusInput): StatusView {
  const connection = input.connectionLabel ? ` · ${input.connectionLabel}` : "";
  const help = "Click to show the Text2SQL output.";
  switch (input.phase) {
    case "starting":
      return {
        text: `$(loading~spin) ${PREFIX}: starting`,
        tooltip: `Starting the text2sql language server…\n${help}`,
        severity: "normal",
        busy: true,
      };
    case "failed":
      return {
        text: `$(error) ${PREFIX}: error`,
        tooltip: `${input.error ?? "The text2sql language server could not start."}\n${help}`,
        severity: "error",
        busy: false,
      };
    case "stopped":
      return {
        text: `$(circle-slash) ${PREFIX}: stopped`,
        tooltip: `${input.error ?? "The text2sql language server is not running."}\nRun "Text2SQL: Restart Server" to start it.`,
        severity: "warning",
        busy: false,
      };
    case "running":
      return renderRunning(input.server, connection, help);
  }
}

function renderRunning(server: ServerStatus | undefined, connection: string, help: string): StatusView {
  if (server === undefined) {
    return { text: `$(loading~spin) ${PREFIX}: connecting`, tooltip: help, severity: "normal", busy: true };
  }
  const lines: string[] = [];
  lines.push(`Model: ${server.modelName ?? "default"} (${server.model})`);
  if (server.schemaError) {
    lines.push(`Schema: ${server.schemaError}`);
  } else if (server.schemaVersion !== undefined) {
    const tables = server.tables !== undefined ? `, ${server.tables} tables` : "";
    lines.push(`Schema: version ${server.schemaVersion}${tables}`);
  }
  lines.push(
    `Generations: ${server.running} running, ${server.finished} finished, ${server.cancelled} cancelled; ${server.cacheHits} cache hits`,
  );
  if (server.model === "error") {
    return {
      text: `$(error) ${PREFIX}: model error`,
      tooltip: [`Model failed to load: ${server.modelError ?? "see the output"}`, ...lines.slice(1), help].join("\n"),
      severity: "error",
      busy: false,
    };
  }
  if (server.model === "loading" || server.model === "unknown") {
    return {
      text: `$(loading~spin) ${PREFIX}: loading model${connection}`,
      tooltip: ["Schema features work now; SQL suggestions start when the model is loaded.", ...lines, help].join("\n"),
      severity: "normal",
      busy: true,
    };
  }
  if (server.schemaError) {
    return {
      text: `$(warning) ${PREFIX}: no schema${connection}`,
      tooltip: [...lines, help].join("\n"),
      severity: "warning",
      busy: false,
    };
  }
  const spinning = server.running > 0;
  return {
    text: `${spinning ? "$(sync~spin)" : "$(database)"} ${PREFIX}: ${spinning ? "generating" : "ready"}${connection}`,
    tooltip: [...lines, help].join("\n"),
    severity: "normal",
    busy: spinning,
  };
}
