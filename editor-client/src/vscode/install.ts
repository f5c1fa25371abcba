/**
 * "Install text2sql into this interpreter": runs `<python> -m pip install text2sql` in a
 * VS Code terminal the user watches (a pseudo-terminal fed by launch.runVisibleProcess,
 * so no shell quoting is involved), and reports success so the server can restart.
 */

import * as vscode from "vscode";

import type { ResolvedInterpreter } from "../interpreter";
import { pipInstallArgv, runVisibleProcess } from "../launch";

export function installIntoTerminal(interpreter: ResolvedInterpreter, log: (line: string) => void, onSuccess: () => unknown): void {
  const argv = pipInstallArgv(interpreter);
  const written = new vscode.EventEmitter<string>();
  const closed = new vscode.EventEmitter<number | void>();
  let stop: (() => void) | undefined;
  const pty: vscode.Pseudoterminal = {
    onDidWrite: written.event,
    onDidClose: closed.event,
    open: () => {
      written.fire(`$ ${argv.join(" ")}\r\n`);
      const run = runVisibleProcess(argv, process.env, (text) => written.fire(text.replace(/\r?\n/g, "\r\n")));
      stop = run.kill;
      void run.exitCode.then((code) => {
        written.fire(`\r\n[pip exited with code ${code ?? "none"}]\r\n`);
        if (code === 0) {
          log("text2sql installed; restarting the server");
          void onSuccess();
        }
      });
    },
    close: () => stop?.(),
  };
  vscode.window.createTerminal({ name: "Text2SQL: install", pty }).show();
}
