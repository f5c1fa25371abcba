/**
 * The language server's wire contract beyond what vscode-languageclient does by itself,
 * in one place: the ids of its workspace/executeCommand commands and their arguments,
 * the shape of the settings it accepts in workspace/didChangeConfiguration, and the
 * textDocument/inlineCompletion params (see {@link inlineCompletionParams} for why the
 * client builds those itself). (The `text2sql/status` request is read in status.ts.)
 * No `vscode` import.
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

export interface Range {
  start: Position;
  end: Position;
}

/**
 * InlineCompletionTriggerKind as LSP 3.18 (and the Python server's lsprotocol) define it:
 * Invoked = 1, Automatic = 2. vscode-languageclient 9 implements the earlier proposal,
 * Invoked = 0, Automatic = 1, and copies VS Code's value through unchanged; a server on
 * the final protocol rejects 0 and takes 1 for "invoked", so an explicit request would
 * fail and every automatic one would look explicit. Hence the client builds the params.
 */
export const LSP_INLINE_TRIGGER = { invoked: 1, automatic: 2 } as const;

export interface InlineCompletionParams {
  textDocument: { uri: string };
  position: Position;
  context: { triggerKind: 1 | 2; selectedCompletionInfo?: { range: Range; text: string } };
}

/** textDocument/inlineCompletion params with LSP 3.18 trigger kinds. */
export function inlineCompletionParams(
  uri: string,
  position: Position,
  trigger: keyof typeof LSP_INLINE_TRIGGER,
  selectedCompletionInfo?: { range: Range; text: string },
): InlineCompletionParams {
  const context: InlineCompletionParams["context"] = { triggerKind: LSP_INLINE_TRIGGER[trigger] };
  if (selectedCompletionInfo) {
    context.selectedCompletionInfo = selectedCompletionInfo;
  }
  return { textDocument: { uri }, position, context };
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
