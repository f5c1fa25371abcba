/**
 * How the text2sql language server process is started.
 *
 * One place builds the command line and environment, checks first that the chosen Python
 * can import text2sql (so a missing package is one clear message, not a crashed client),
 * and spawns the process with stdio pipes. The VS Code client (through
 * vscode-languageclient's ServerOptions) and the Node integration test both start the
 * server through this module, so the test exercises the exact launch the user gets.
 * No `vscode` import here.
 */

import { spawn, type ChildProcess } from "node:child_process";

import type { ResolvedInterpreter } from "./interpreter";

/** The Python module that runs the server over stdio (same as `text2sql serve`). */
export const SERVER_MODULE = "text2sql.server";

/** The pip requirement offered by "Install text2sql into this interpreter". */
export const PIP_REQUIREMENT = "text2sql";

export type LogLevel = "error" | "warning" | "info" | "debug";

export interface ServerLaunch {
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd?: string;
}

export interface LaunchOptions {
  logLevel: LogLevel;
  /** The environment to start from (normally `process.env`). */
  baseEnv: Record<string, string | undefined>;
  /** Working directory for the server (the first workspace folder, when there is one). */
  cwd?: string;
}

/** The environment the server runs in: the caller's plus offline and encoding guarantees. */
export function serverEnvironment(
  baseEnv: Record<string, string | undefined>,
  logLevel: LogLevel,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(baseEnv)) {
    if (value !== undefined) {
      env[key] = value;
    }
  }
  // LSP is framed on stdout: keep it unbuffered and UTF-8 whatever the user's locale.
  env.PYTHONUNBUFFERED = "1";
  env.PYTHONIOENCODING = "utf-8";
  // Nothing leaves the machine: the server never needs the Hugging Face Hub. A user who
  // sets these explicitly (e.g. to 0) keeps their value.
  env.HF_HUB_OFFLINE ??= "1";
  env.TRANSFORMERS_OFFLINE ??= "1";
  env.TEXT2SQL_LOG_LEVEL = logLevel;
  return env;
}

/** The full command line that runs the server with `interpreter`. */
export function buildServerLaunch(interpreter: ResolvedInterpreter, options: LaunchOptions): ServerLaunch {
  return {
    command: interpreter.command,
    args: [...interpreter.args, "-m", SERVER_MODULE, "--log-level", options.logLevel],
    env: serverEnvironment(options.baseEnv, options.logLevel),
    cwd: options.cwd,
  };
}

/**
 * Spawn the server with stdio pipes: stdin/stdout carry LSP, stderr carries its log.
 * Returned as-is so vscode-languageclient (which forwards stderr to its output channel)
 * and the integration test (which wraps stdout/stdin in jsonrpc streams) can both use it.
 */
export function startServerProcess(launch: ServerLaunch): ChildProcess {
  return spawn(launch.command, launch.args, {
    cwd: launch.cwd,
    env: launch.env,
    stdio: ["pipe", "pipe", "pipe"],
    windowsHide: true,
  });
}

// --- Preflight -----------------------------------------------------------------------------

/** Printed by the preflight when text2sql imports; one JSON line. */
const PREFLIGHT_CODE =
  "import json, sys\n" +
  "import text2sql\n" +
  "print(json.dumps({'python': sys.version.split()[0], 'executable': sys.executable, " +
  "'text2sql': getattr(text2sql, '__version__', 'unknown')}))\n";

export interface PreflightInfo {
  python: string;
  executable: string;
  text2sql: string;
}

/** Why the preflight failed; each kind has its own remedy in the UI. */
export type PreflightFailure = "interpreter-not-found" | "text2sql-missing" | "import-failed" | "timeout";

export class PreflightError extends Error {
  constructor(
    readonly kind: PreflightFailure,
    message: string,
    /** The interpreter's own output (stderr tail), for the output channel. */
    readonly detail: string,
  ) {
    super(message);
    this.name = "PreflightError";
  }
}

export interface PreflightOptions {
  env: Record<string, string>;
  cwd?: string;
  timeoutMs?: number;
}

function lastLines(text: string, count: number): string {
  return text.trim().split(/\r?\n/).slice(-count).join("\n");
}

/**
 * Run `python -c "import text2sql"` and report the interpreter and package versions, or
 * throw a {@link PreflightError} whose message says exactly what to do next.
 */
export function preflight(interpreter: ResolvedInterpreter, options: PreflightOptions): Promise<PreflightInfo> {
  const shown = [interpreter.command, ...interpreter.args].join(" ");
  const timeoutMs = options.timeoutMs ?? 60_000;
  return new Promise((resolve, reject) => {
    const child = spawn(interpreter.command, [...interpreter.args, "-c", PREFLIGHT_CODE], {
      cwd: options.cwd,
      env: options.env,
      stdio: ["ignore", "pipe", "pipe"],
      windowsHide: true,
    });
    let stdout = "";
    let stderr = "";
    let settled = false;
    const finish = (outcome: () => void) => {
      if (!settled) {
        settled = true;
        clearTimeout(timer);
        outcome();
      }
    };
    const timer = setTimeout(() => {
      child.kill();
      finish(() =>
        reject(
          new PreflightError(
            "timeout",
            `Python "${shown}" did not finish "import text2sql" within ${Math.round(timeoutMs / 1000)} s.`,
            lastLines(stderr, 20),
          ),
        ),
      );
    }, timeoutMs);
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.on("error", (error: NodeJS.ErrnoException) => {
      const kind: PreflightFailure = error.code === "ENOENT" || error.code === "EACCES" ? "interpreter-not-found" : "import-failed";
      const message =
        kind === "interpreter-not-found"
          ? `Python interpreter "${shown}" was not found (${error.code}). Set text2sql.python to a Python 3.11+ that has text2sql installed.`
          : `Python interpreter "${shown}" could not be started: ${error.message}`;
      finish(() => reject(new PreflightError(kind, message, "")));
    });
    child.on("close", (code) => {
      if (code === 0) {
        const line = stdout.trim().split(/\r?\n/).pop() ?? "";
        try {
          const info = JSON.parse(line) as PreflightInfo;
          finish(() => resolve(info));
        } catch {
          finish(() =>
            reject(new PreflightError("import-failed", `Python "${shown}" printed unexpected output: ${line}`, stderr)),
          );
        }
        return;
      }
      // 9009: the Windows "App execution alias" stub that only opens the Microsoft Store.
      if (code === 9009) {
        finish(() =>
          reject(
            new PreflightError(
              "interpreter-not-found",
              `"${shown}" is the Microsoft Store placeholder, not a Python. Set text2sql.python to a Python 3.11+ that has text2sql installed.`,
              lastLines(stderr, 5),
            ),
          ),
        );
        return;
      }
      const missing = /No module named '?text2sql'?/.test(stderr);
      const message = missing
        ? `text2sql is not installed in the Python "${shown}". Install it with "${shown} -m pip install ${PIP_REQUIREMENT}", or set text2sql.python to an interpreter that has it.`
        : `"import text2sql" failed in the Python "${shown}": ${lastLines(stderr, 1) || `exit code ${code}`}`;
      finish(() => reject(new PreflightError(missing ? "text2sql-missing" : "import-failed", message, lastLines(stderr, 20))));
    });
  });
}

/** The argv that installs text2sql into `interpreter` (run in a terminal the user can see). */
export function pipInstallArgv(interpreter: ResolvedInterpreter): string[] {
  return [interpreter.command, ...interpreter.args, "-m", "pip", "install", PIP_REQUIREMENT];
}

export interface VisibleRun {
  /** Resolves with the exit code (null when killed by a signal or it failed to start). */
  exitCode: Promise<number | null>;
  kill: () => void;
}

/**
 * Run `argv` and stream its stdout and stderr to `write` as they arrive (the extension
 * shows them in a terminal so the user watches pip work), resolving with the exit code.
 */
export function runVisibleProcess(
  argv: string[],
  baseEnv: Record<string, string | undefined>,
  write: (text: string) => void,
): VisibleRun {
  const [command, ...args] = argv;
  const env = serverEnvironment(baseEnv, "info");
  const child = spawn(command, args, { env, stdio: ["ignore", "pipe", "pipe"], windowsHide: true });
  child.stdout.setEncoding("utf8").on("data", write);
  child.stderr.setEncoding("utf8").on("data", write);
  const exitCode = new Promise<number | null>((resolve) => {
    child.on("error", (error) => {
      write(`${error.message}\n`);
      resolve(null);
    });
    child.on("close", (code) => resolve(code));
  });
  return { exitCode, kill: () => child.kill() };
}
