/**
 * Which Python runs the text2sql language server.
 *
 * The order is: the `text2sql.python` setting, else the interpreter selected in the
 * Python extension (ms-python.python) when it is installed, else the platform's default
 * command (`python3`; `python` on Windows, where `python3` is often the Store stub).
 * This module never imports `vscode`: the Python extension's API object arrives as plain
 * data, so the resolution rules are unit-tested in Node.
 */

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** Where the interpreter came from; shown in the output channel and in errors. */
export type InterpreterSource = "setting" | "python-extension" | "default";

export interface ResolvedInterpreter {
  /** The executable to spawn (absolute path, or a bare command looked up on PATH). */
  command: string;
  /** Arguments that belong to the interpreter itself (e.g. `conda run -n env python`). */
  args: string[];
  source: InterpreterSource;
}

export interface InterpreterInputs {
  /** The raw `text2sql.python` setting (may use `~`, `${workspaceFolder}`, `${env:NAME}`). */
  configured?: string;
  /** The command the Python extension would run, from {@link interpreterFromPythonExtension}. */
  pythonExtensionCommand?: string[];
  platform: NodeJS.Platform;
  /** The first workspace folder, for `${workspaceFolder}` and relative paths. */
  workspaceFolder?: string;
  env: Record<string, string | undefined>;
  /** Injected for tests; defaults to a real `fs.statSync` check. */
  isDirectory?: (p: string) => boolean;
  homeDir?: string;
}

/** The command used when nothing is configured and the Python extension is absent. */
export function defaultPythonCommand(platform: NodeJS.Platform): string {
  return platform === "win32" ? "python" : "python3";
}

function realIsDirectory(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** Expand `~`, `${userHome}`, `${workspaceFolder}` and `${env:NAME}` in a configured path. */
export function expandVariables(
  value: string,
  inputs: Pick<InterpreterInputs, "workspaceFolder" | "env" | "homeDir">,
): string {
  const home = inputs.homeDir ?? os.homedir();
  let out = value.trim();
  if (out === "~" || out.startsWith("~/") || out.startsWith("~\\")) {
    out = home + out.slice(1);
  }
  out = out.replace(/\$\{(workspaceFolder|userHome|env:([A-Za-z_][A-Za-z0-9_]*))\}/g, (_match, key: string, envName?: string) => {
    if (key === "userHome") {
      return home;
    }
    if (key === "workspaceFolder") {
      if (inputs.workspaceFolder === undefined) {
        throw new InterpreterSettingError(
          `text2sql.python uses \${workspaceFolder} but no folder is open: use an absolute path.`,
        );
      }
      return inputs.workspaceFolder;
    }
    return inputs.env[envName ?? ""] ?? "";
  });
  return out;
}

/** A `text2sql.python` value that cannot be turned into a command. */
export class InterpreterSettingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InterpreterSettingError";
  }
}

/** The python executable inside a virtual environment directory, for this platform. */
export function venvPython(dir: string, platform: NodeJS.Platform): string {
  const p = platform === "win32" ? path.win32 : path.posix;
  return platform === "win32" ? p.join(dir, "Scripts", "python.exe") : p.join(dir, "bin", "python");
}

function looksLikePath(value: string): boolean {
  return value.includes("/") || value.includes("\\");
}

function resolveConfigured(configured: string, inputs: InterpreterInputs): string {
  const p = inputs.platform === "win32" ? path.win32 : path.posix;
  let value = expandVariables(configured, inputs);
  if (value === "") {
    throw new InterpreterSettingError("text2sql.python expands to an empty path.");
  }
  // A bare command (`python3.12`, `py`) is looked up on PATH by spawn; a relative path is
  // relative to the workspace folder, never to VS Code's own working directory.
  if (looksLikePath(value) && !p.isAbsolute(value)) {
    if (inputs.workspaceFolder === undefined) {
      throw new InterpreterSettingError(
        `text2sql.python is the relative path "${configured}" but no folder is open: use an absolute path.`,
      );
    }
    value = p.resolve(inputs.workspaceFolder, value);
  }
  // A virtual environment directory is accepted and mapped to its interpreter.
  const isDirectory = inputs.isDirectory ?? realIsDirectory;
  if (looksLikePath(value) && isDirectory(value)) {
    value = venvPython(value, inputs.platform);
  }
  return value;
}

/** Apply the resolution order described in the module docstring. */
export function resolveInterpreter(inputs: InterpreterInputs): ResolvedInterpreter {
  const configured = inputs.configured?.trim();
  if (configured) {
    return { command: resolveConfigured(configured, inputs), args: [], source: "setting" };
  }
  const fromExtension = inputs.pythonExtensionCommand?.filter((part) => part.trim() !== "");
  if (fromExtension && fromExtension.length > 0) {
    const [command, ...args] = fromExtension;
    return { command, args, source: "python-extension" };
  }
  return { command: defaultPythonCommand(inputs.platform), args: [], source: "default" };
}

/** A one-line description for logs and error messages, e.g. `/venv/bin/python (text2sql.python setting)`. */
export function describeInterpreter(interpreter: ResolvedInterpreter): string {
  const where = {
    setting: "text2sql.python setting",
    "python-extension": "interpreter selected in the Python extension",
    default: "default; set text2sql.python or select an interpreter in the Python extension",
  }[interpreter.source];
  return `${[interpreter.command, ...interpreter.args].join(" ")} (${where})`;
}

// --- The Python extension's API, as much of it as we read (duck-typed data) ---------------

interface UriLike {
  fsPath: string;
}

/** The subset of `ms-python.python`'s exported API this extension reads. */
export interface PythonExtensionApiLike {
  ready?: Promise<unknown>;
  environments?: {
    getActiveEnvironmentPath(resource?: unknown): { id: string; path: string } | undefined;
    resolveEnvironment(env: { id: string; path: string } | string): Promise<
      { executable?: { uri?: UriLike } } | undefined
    >;
  };
  settings?: {
    getExecutionDetails(resource?: unknown): { execCommand?: string[] | undefined };
  };
}

/**
 * The command the Python extension would use for `resource`, or undefined when it has
 * none selected. Prefers the environments API; falls back to the older settings API.
 */
export async function interpreterFromPythonExtension(
  api: PythonExtensionApiLike | undefined,
  resource?: unknown,
): Promise<string[] | undefined> {
  if (!api) {
    return undefined;
  }
  await api.ready;
  const environments = api.environments;
  if (environments) {
    const active = environments.getActiveEnvironmentPath(resource);
    if (active) {
      const resolved = await environments.resolveEnvironment(active);
      const executable = resolved?.executable?.uri?.fsPath;
      if (executable) {
        return [executable];
      }
    }
  }
  const execCommand = api.settings?.getExecutionDetails(resource)?.execCommand;
  return execCommand && execCommand.length > 0 ? [...execCommand] : undefined;
}
