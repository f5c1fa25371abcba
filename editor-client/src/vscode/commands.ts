/**
 * The extension's commands (Generate SQL from Comment, Refresh Schema, Select Connection,
 * Set Connection Password): UI around the server's commands and the settings. The
 * argument and result shapes come from protocol.ts, passwords go through secrets.ts.
 */

import * as vscode from "vscode";
import { ExecuteCommandRequest } from "vscode-languageclient/node";

import { describeGenerateResult, GENERATE_COMMAND, generateCommandArguments, REFRESH_SCHEMA_COMMAND } from "../protocol";
import { redactUrl, setConnectionPassword, urlUsername } from "../secrets";
import { connectionTarget, readSettings } from "../settings";
import type { ServerController } from "./controller";

export async function generateFromComment(controller: ServerController): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  if (!editor || editor.document.languageId !== "sql") {
    void vscode.window.showInformationMessage("Text2SQL: put the cursor on or below a -- question comment in a SQL file.");
    return;
  }
  const client = controller.runningClient();
  if (!client) {
    return;
  }
  const position = editor.selection.active;
  const args = generateCommandArguments(editor.document.uri.toString(), { line: position.line, character: position.character });
  controller.schedulePoll(300);
  const result: unknown = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Window, title: "Text2SQL: generating SQL" },
    () => client.sendRequest(ExecuteCommandRequest.type, { command: GENERATE_COMMAND, arguments: args }),
  );
  const outcome = describeGenerateResult(result);
  if (outcome) {
    void vscode.window.showInformationMessage(`Text2SQL: ${outcome}`);
  }
  controller.schedulePoll(0);
}

export async function refreshSchema(controller: ServerController): Promise<void> {
  const client = controller.runningClient();
  if (client) {
    await client.sendRequest(ExecuteCommandRequest.type, { command: REFRESH_SCHEMA_COMMAND, arguments: [] });
    controller.schedulePoll(0);
  }
}

export async function selectConnection(controller: ServerController): Promise<void> {
  const settings = readSettings((key) => controller.config().get(key)).settings;
  type Item = vscode.QuickPickItem & { value?: string };
  const items: Item[] = [
    { label: "Chinook demo", description: "the bundled sample database", value: "" },
    ...Object.entries(settings.connections).map(([name, url]) => ({ label: name, description: redactUrl(url), value: name })),
    { label: "Add a connection…", description: "edit text2sql.connections" },
  ];
  const current = connectionTarget(settings);
  if (current.kind === "config-file" || current.kind === "url") {
    items.splice(1, 0, { label: current.label, description: "current", value: current.value });
  }
  const picked = await vscode.window.showQuickPick(items, { title: "Text2SQL: Select Connection", placeHolder: `Current: ${current.label}` });
  if (!picked) {
    return;
  }
  if (picked.value === undefined) {
    await vscode.commands.executeCommand("workbench.action.openSettingsJson");
    return;
  }
  const target = vscode.workspace.workspaceFolders ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
  await controller.config().update("connection", picked.value, target);
}

export async function setPassword(controller: ServerController): Promise<void> {
  const settings = readSettings((key) => controller.config().get(key)).settings;
  const current = connectionTarget(settings);
  const choices = Object.entries(settings.connections).map(([name, url]) => ({ label: name, description: redactUrl(url), key: name, url }));
  if (current.kind === "url" && !choices.some((c) => c.key === current.key)) {
    choices.unshift({ label: redactUrl(current.value), description: "current", key: current.key, url: current.value });
  }
  if (choices.length === 0) {
    void vscode.window.showInformationMessage("Text2SQL: add a connection to text2sql.connections first (name -> SQLAlchemy URL with a user name).");
    return;
  }
  const picked = choices.length === 1 ? choices[0] : await vscode.window.showQuickPick(choices, { title: "Set the password for" });
  if (!picked) {
    return;
  }
  const user = urlUsername(picked.url);
  if (!user) {
    void vscode.window.showErrorMessage(`Text2SQL: the connection ${redactUrl(picked.url)} has no user name; add one (dialect://USER@host/db) to use a password.`);
    return;
  }
  const password = await vscode.window.showInputBox({
    title: `Password for ${user} on ${picked.label}`,
    prompt: "Stored in VS Code's secret storage (your OS keychain), never in settings. Leave empty to remove it.",
    password: true,
    ignoreFocusOut: true,
  });
  if (password === undefined) {
    return;
  }
  await setConnectionPassword(picked.key, password, controller.context.secrets);
  controller.log(`password ${password === "" ? "removed" : "stored"} for ${picked.label}`);
  if (picked.key === current.key) {
    await controller.reconfigure();
  }
}
