/**
 * The language client's lifecycle inside VS Code: read the settings, resolve the
 * interpreter, preflight, start vscode-languageclient with the launch from launch.ts,
 * apply setting changes (restart or reconfigure, debounced), and keep the status bar item
 * current from `text2sql/status`. Decisions are made by the plain modules in src/; this
 * class only connects them to VS Code.
 */

import * as os from "node:os";

import * as vscode from "vscode";
import {
  DidChangeConfigurationNotification,
  InlineCompletionRequest,
  LanguageClient,
  RevealOutputChannelOn,
  State,
  type InlineCompletionItem as LspInlineCompletionItem,
  type InlineCompletionList as LspInlineCompletionList,
  type LanguageClientOptions,
  type ServerOptions,
} from "vscode-languageclient/node";

import {
  describeInterpreter,
  interpreterFromPythonExtension,
  resolveInterpreter,
  type PythonExtensionApiLike,
  type ResolvedInterpreter,
} from "../interpreter";
import { buildServerLaunch, preflight, PreflightError, serverEnvironment, startServerProcess } from "../launch";
import { configurationChangeParams, inlineCompletionParams } from "../protocol";
import { connectionUrlWithSecret, hasInlinePassword, redactText } from "../secrets";
import {
  ChangeDebouncer,
  classifyChange,
  connectionTarget,
  expandConnectionVariables,
  readSettings,
  toServerSettings,
  type ChangeImpact,
  type ExtensionSettings,
  type ServerSettings,
} from "../settings";
import { parseServerStatus, renderStatus, STATUS_PARAMS, STATUS_REQUEST, type StatusInput } from "../status";
import { installIntoTerminal } from "./install";

export const SECTION = "text2sql";
type LspInlineCompletionResult = LspInlineCompletionList | LspInlineCompletionItem[] | null;
const SQL_SELECTOR = [
  { scheme: "file", language: "sql" },
  { scheme: "untitled", language: "sql" },
  { scheme: "vscode-notebook-cell", language: "sql" },
];

export class ServerController implements vscode.Disposable {
  private readonly output = vscode.window.createOutputChannel("Text2SQL");
  private readonly statusItem = vscode.window.createStatusBarItem("text2sql.status", vscode.StatusBarAlignment.Right, 100);
  private readonly debouncer = new ChangeDebouncer(750, (impact) => this.applyChange(impact));
  private client: LanguageClient | undefined;
  private settings: ExtensionSettings = readSettings((key) => this.config().get(key)).settings;
  private statusInput: StatusInput = { phase: "starting" };
  private pollTimer: ReturnType<typeof setTimeout> | undefined;
  private starting: Promise<void> | undefined;

  constructor(readonly context: vscode.ExtensionContext) {
    this.statusItem.name = "Text2SQL";
    this.statusItem.command = "text2sql.showOutput";
    this.showStatus();
    this.statusItem.show();
  }

  config(): vscode.WorkspaceConfiguration {
    return vscode.workspace.getConfiguration(SECTION);
  }

  log(message: string): void {
    this.output.appendLine(`[${new Date().toISOString()}] ${redactText(message)}`);
  }

  private showStatus(): void {
    const view = renderStatus(this.statusInput);
    this.statusItem.text = view.text;
    this.statusItem.tooltip = view.tooltip;
    this.statusItem.backgroundColor =
      view.severity === "error"
        ? new vscode.ThemeColor("statusBarItem.errorBackground")
        : view.severity === "warning"
          ? new vscode.ThemeColor("statusBarItem.warningBackground")
          : undefined;
  }

  private setStatus(update: Partial<StatusInput>): void {
    this.statusInput = { ...this.statusInput, ...update };
    this.showStatus();
  }

  // --- settings -----------------------------------------------------------------------------

  private readAndReport(): ExtensionSettings {
    const { settings, problems } = readSettings((key) => this.config().get(key));
    const target = connectionTarget(settings);
    if (hasInlinePassword(target.value)) {
      problems.push(
        `The connection "${target.label}" has a password in settings.json; remove it there and run "Text2SQL: Set Connection Password".`,
      );
    }
    if (problems.length > 0) {
      problems.forEach((problem) => this.log(`settings: ${problem}`));
      void vscode.window.showWarningMessage(`Text2SQL settings: ${problems.join(" ")}`, "Open Settings").then((choice) => {
        if (choice) {
          void vscode.commands.executeCommand("workbench.action.openSettings", SECTION);
        }
      });
    }
    return settings;
  }

  /** The settings the server receives; throws SettingsError for an unusable connection. */
  private async serverSettings(settings: ExtensionSettings): Promise<ServerSettings> {
    const target = connectionTarget(settings);
    const expanded = expandConnectionVariables(target.value, {
      workspaceFolder: vscode.workspace.workspaceFolders?.[0]?.uri.fsPath,
      homeDir: os.homedir(),
      env: process.env,
    });
    const url = await connectionUrlWithSecret(target.key, expanded, this.context.secrets);
    return toServerSettings(settings, url);
  }

  onConfigurationChanged(event: vscode.ConfigurationChangeEvent): void {
    if (!event.affectsConfiguration(SECTION)) {
      return;
    }
    const next = readSettings((key) => this.config().get(key)).settings;
    this.debouncer.notify(classifyChange(this.settings, next));
  }

  onInterpreterChanged(): void {
    if (this.settings.python === "") {
      this.debouncer.notify("restart");
    }
  }

  private async applyChange(impact: ChangeImpact): Promise<void> {
    if (impact === "restart" || this.client === undefined) {
      this.log(`settings changed: restarting the server`);
      await this.restart();
    } else if (impact === "reconfigure") {
      await this.reconfigure();
    }
  }

  async reconfigure(): Promise<void> {
    this.settings = this.readAndReport();
    const client = this.client;
    if (client?.state !== State.Running) {
      return;
    }
    let serverSettings: ServerSettings;
    try {
      serverSettings = await this.serverSettings(this.settings);
    } catch (error) {
      this.log(String(error));
      void vscode.window.showErrorMessage(`Text2SQL: ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
    this.log(`reconfigure: connection ${connectionTarget(this.settings).label}, trigger ${this.settings.trigger}`);
    await client.sendNotification(DidChangeConfigurationNotification.type, configurationChangeParams(serverSettings));
    this.setStatus({ connectionLabel: connectionTarget(this.settings).label });
    this.schedulePoll(0);
  }

  // --- lifecycle -----------------------------------------------------------------------------

  private async interpreter(settings: ExtensionSettings): Promise<ResolvedInterpreter> {
    let fromExtension: string[] | undefined;
    if (settings.python === "") {
      const python = vscode.extensions.getExtension<PythonExtensionApiLike>("ms-python.python");
      if (python) {
        try {
          const api = python.isActive ? python.exports : await python.activate();
          fromExtension = await interpreterFromPythonExtension(api, vscode.workspace.workspaceFolders?.[0]?.uri);
        } catch (error) {
          this.log(`could not ask the Python extension for its interpreter: ${String(error)}`);
        }
      }
    }
    return resolveInterpreter({
      configured: settings.python,
      pythonExtensionCommand: fromExtension,
      platform: process.platform,
      workspaceFolder: vscode.workspace.workspaceFolders?.[0]?.uri.fsPath,
      env: process.env,
    });
  }

  start(): Promise<void> {
    this.starting ??= this.startOnce().finally(() => (this.starting = undefined));
    return this.starting;
  }

  private async startOnce(): Promise<void> {
    this.settings = this.readAndReport();
    const connectionLabel = connectionTarget(this.settings).label;
    this.setStatus({ phase: "starting", server: undefined, error: undefined, connectionLabel });
    let interpreter: ResolvedInterpreter;
    try {
      interpreter = await this.interpreter(this.settings);
    } catch (error) {
      return this.failed(error instanceof Error ? error.message : String(error), undefined);
    }
    const cwd = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    this.log(`python: ${describeInterpreter(interpreter)}`);
    try {
      const info = await preflight(interpreter, { env: serverEnvironment(process.env, this.settings.logLevel), cwd });
      this.log(`python ${info.python} at ${info.executable}, text2sql ${info.text2sql}`);
    } catch (error) {
      if (error instanceof PreflightError) {
        if (error.detail) {
          this.log(error.detail);
        }
        return this.failed(error.message, interpreter, error.kind !== "interpreter-not-found");
      }
      throw error;
    }
    const launch = buildServerLaunch(interpreter, { logLevel: this.settings.logLevel, baseEnv: process.env, cwd });
    const serverOptions: ServerOptions = () => {
      this.log(`starting: ${[launch.command, ...launch.args].join(" ")}`);
      const child = startServerProcess(launch);
      child.on("error", (error) => this.log(`server process error: ${error.message}`));
      child.on("exit", (code, signal) => this.log(`server process exited (code ${code ?? "none"}, signal ${signal ?? "none"})`));
      return Promise.resolve(child);
    };
    let initializationOptions: ServerSettings;
    try {
      initializationOptions = await this.serverSettings(this.settings);
    } catch (error) {
      return this.failed(error instanceof Error ? error.message : String(error), undefined);
    }
    const clientOptions: LanguageClientOptions = {
      documentSelector: SQL_SELECTOR,
      outputChannel: this.output,
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      initializationOptions,
      middleware: {
        // Send LSP 3.18 trigger kinds (see protocol.ts); the rest is the feature's own path.
        provideInlineCompletionItems: async (document, position, context, token) => {
          const c2p = client.code2ProtocolConverter;
          const selected = context.selectedCompletionInfo;
          const params = inlineCompletionParams(
            c2p.asUri(document.uri),
            c2p.asPosition(position),
            context.triggerKind === vscode.InlineCompletionTriggerKind.Invoke ? "invoked" : "automatic",
            selected ? { range: c2p.asRange(selected.range), text: selected.text } : undefined,
          );
          // By method name: the 3.17.5 typings only know the proposal's trigger kinds.
          const result = await client.sendRequest<LspInlineCompletionResult>(InlineCompletionRequest.method, params, token);
          return client.protocol2CodeConverter.asInlineCompletionResult(result, token);
        },
      },
    };
    const client = new LanguageClient("text2sql", "Text2SQL", serverOptions, clientOptions);
    client.registerProposedFeatures(); // textDocument/inlineCompletion (LSP 3.18)
    client.onDidChangeState((event) => {
      if (this.client !== client) {
        return;
      }
      if (event.newState === State.Stopped) {
        this.setStatus({ phase: "stopped", server: undefined });
      } else if (event.newState === State.Running) {
        // Also after vscode-languageclient restarted a crashed server by itself.
        this.setStatus({ phase: "running" });
        this.schedulePoll(0);
      }
    });
    this.client = client;
    try {
      await client.start();
    } catch (error) {
      this.client = undefined;
      return this.failed(`The language server did not start: ${error instanceof Error ? error.message : String(error)}`, interpreter);
    }
    this.setStatus({ phase: "running" });
    this.schedulePoll(0);
  }

  private failed(message: string, interpreter: ResolvedInterpreter | undefined, offerInstall = false): void {
    this.log(message);
    this.setStatus({ phase: "failed", error: message, server: undefined });
    const actions = ["Open Setting", ...(offerInstall && interpreter ? ["Install text2sql into this interpreter"] : []), "Show Output"];
    void vscode.window.showErrorMessage(`Text2SQL: ${message}`, ...actions).then((choice) => {
      if (choice === "Open Setting") {
        void vscode.commands.executeCommand("workbench.action.openSettings", "text2sql.python");
      } else if (choice === "Show Output") {
        this.output.show(true);
      } else if (choice && interpreter) {
        installIntoTerminal(interpreter, (line) => this.log(line), () => this.restart());
      }
    });
  }

  async stop(): Promise<void> {
    if (this.pollTimer !== undefined) {
      clearTimeout(this.pollTimer);
      this.pollTimer = undefined;
    }
    const client = this.client;
    this.client = undefined;
    if (client) {
      try {
        await client.stop(5000);
      } catch (error) {
        this.log(`stopping the server: ${String(error)}`);
      }
    }
  }

  async restart(): Promise<void> {
    await this.starting;
    await this.stop();
    await this.start();
  }

  /** Ask the server for its status after `delayMs` (sooner after a command). */
  schedulePoll(delayMs: number): void {
    if (this.pollTimer !== undefined) {
      clearTimeout(this.pollTimer);
    }
    this.pollTimer = setTimeout(() => void this.poll(), delayMs);
  }

  private async poll(): Promise<void> {
    this.pollTimer = undefined;
    const client = this.client;
    if (client?.state !== State.Running) {
      return;
    }
    try {
      this.setStatus({ server: parseServerStatus(await client.sendRequest(STATUS_REQUEST, STATUS_PARAMS)) });
    } catch (error) {
      this.log(`${STATUS_REQUEST} failed: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (this.client === client) {
      this.schedulePoll(renderStatus(this.statusInput).busy ? 1000 : 10_000);
    }
  }

  /** The client when the server runs; else offers a restart and returns undefined. */
  runningClient(): LanguageClient | undefined {
    if (this.client?.state === State.Running) {
      return this.client;
    }
    void vscode.window.showWarningMessage("Text2SQL: the language server is not running.", "Restart Server", "Show Output").then((choice) => {
      if (choice === "Restart Server") {
        void this.restart();
      } else if (choice) {
        this.output.show(true);
      }
    });
    return undefined;
  }

  showOutput(): void {
    this.output.show(true);
  }

  dispose(): void {
    this.debouncer.dispose();
    this.statusItem.dispose();
    this.output.dispose();
  }
}
