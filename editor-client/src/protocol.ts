/**
 * The language server's wire contract beyond standard LSP, in one place: the ids of its
 * workspace/executeCommand commands, their arguments, and the shape of the settings it
 * accepts in workspace/didChangeConfiguration. (The `text2sql/status` request is read in
 * status.ts.) No `vscode` import.
 */

import type { ServerSettings } from "./settings";

/** Generates SQL for the comment at a position and inserts it with workspace/applyEdit. */
export const GENERATE_COMMAND = "text2sql.generate";
/** Re-introspects the connected database. */
export const REFRESH_SCHEMA_COMMAND = "text2sql.refreshSchema";

export interface Position {
  line: number;
  character: number;
}

/** Arguments of {@link GENERATE_COMMAND}: the document URI and the cursor position. */
export function generateCommandArguments(uri: string, position: Position): unknown[] {
  return [uri, position];
}

/** Reasons the server already told the user about itself (with window/showMessage). */
const REPORTED_BY_SERVER = ["no question at the cursor"];

/**
 * What to tell the user after {@link GENERATE_COMMAND}: undefined when the SQL was
 * inserted (the edit speaks for itself) or the server already showed the reason.
 * The server answers `{applied, question?, sql?, reason?}`.
 */
export function describeGenerateResult(result: unknown): string | undefined {
  if (typeof result !== "object" || result === null) {
    return undefined;
  }
  const { applied, reason, question } = result as { applied?: unknown; reason?: unknown; question?: unknown };
  if (applied === true || typeof reason !== "string" || REPORTED_BY_SERVER.includes(reason)) {
    return undefined;
  }
  return typeof question === "string" ? `no SQL for "${question}": ${reason}` : `no SQL generated: ${reason}`;
}

/** The params of workspace/didChangeConfiguration carrying new server settings. */
export function configurationChangeParams(settings: ServerSettings): { settings: { text2sql: ServerSettings } } {
  return { settings: { text2sql: settings } };
}
