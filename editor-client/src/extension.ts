/**
 * VS Code entry point. It only wires things up: the controller (src/vscode/controller.ts)
 * runs the language client, the commands live in src/vscode/commands.ts, and every
 * decision is made by the plain, Node-tested modules in src/ (interpreter, launch,
 * settings, secrets, status, protocol), which never import `vscode`.
 */

import * as vscode from "vscode";

import { generateFromComment, refreshSchema, selectConnection, setPassword } from "./vscode/commands";
import { ServerController } from "./vscode/controller";

let controller: ServerController | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const ctl = new ServerController(context);
  controller = ctl;
  const command = (id: string, run: () => unknown) => vscode.commands.registerCommand(id, run);
  context.subscriptions.push(
    ctl,
    command("text2sql.generateFromComment", () => generateFromComment(ctl)),
    command("text2sql.selectConnection", () => selectConnection(ctl)),
    command("text2sql.reloadSchema", () => refreshSchema(ctl)),
    command("text2sql.restartServer", () => ctl.restart()),
    command("text2sql.showOutput", () => ctl.showOutput()),
    command("text2sql.setConnectionPassword", () => setPassword(ctl)),
    vscode.workspace.onDidChangeConfiguration((event) => ctl.onConfigurationChanged(event)),
  );
  await ctl.start();
  // start() activated the Python extension when it is installed; follow its selection.
  const python = vscode.extensions.getExtension<{
    environments?: { onDidChangeActiveEnvironmentPath?: vscode.Event<unknown> };
  }>("ms-python.python");
  const interpreterChanged = python?.isActive ? python.exports.environments?.onDidChangeActiveEnvironmentPath : undefined;
  if (interpreterChanged) {
    context.subscriptions.push(interpreterChanged(() => ctl.onInterpreterChanged()));
  }
}

export async function deactivate(): Promise<void> {
  await controller?.stop();
  controller = undefined;
}
