/** The server command line, its environment, and the preflight against real interpreters. */

import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";

import type { ResolvedInterpreter } from "../src/interpreter";
import { buildServerLaunch, pipInstallArgv, preflight, PreflightError, runVisibleProcess, serverEnvironment } from "../src/launch";

/** The Python CI exports for the client tests, else the platform default. */
const PYTHON = process.env.TEXT2SQL_TEST_PYTHON || (process.platform === "win32" ? "python" : "python3");
const python: ResolvedInterpreter = { command: PYTHON, args: [], source: "default" };

/** A directory holding a `text2sql.py` with `source`, to put first on PYTHONPATH. */
async function withFakeText2sql(source: string, run: (dir: string) => Promise<void>): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "t2s-fake-"));
  fs.writeFileSync(path.join(dir, "text2sql.py"), source);
  try {
    await run(dir);
  } finally {
    fs.rmSync(dir, { recursive: true });
  }
}

describe("buildServerLaunch", () => {
  it("runs the server module with the interpreter's own arguments first", () => {
    const launch = buildServerLaunch(
      { command: "conda", args: ["run", "-n", "sql", "python"], source: "python-extension" },
      { logLevel: "debug", baseEnv: { PATH: "/usr/bin" }, cwd: "/src/shop" },
    );
    assert.equal(launch.command, "conda");
    assert.deepEqual(launch.args, ["run", "-n", "sql", "python", "-m", "text2sql.server", "--log-level", "debug"]);
    assert.equal(launch.cwd, "/src/shop");
    assert.equal(launch.env.PATH, "/usr/bin");
  });
});

describe("serverEnvironment", () => {
  it("forces unbuffered UTF-8 stdio and offline Hugging Face libraries", () => {
    const env = serverEnvironment({ HOME: "/home/ada", UNSET: undefined }, "info");
    assert.equal(env.PYTHONUNBUFFERED, "1");
    assert.equal(env.PYTHONIOENCODING, "utf-8");
    assert.equal(env.HF_HUB_OFFLINE, "1");
    assert.equal(env.TRANSFORMERS_OFFLINE, "1");
    assert.equal(env.TEXT2SQL_LOG_LEVEL, "info");
    assert.equal(env.HOME, "/home/ada");
    assert.equal("UNSET" in env, false);
  });

  it("keeps a user's explicit offline choice", () => {
    assert.equal(serverEnvironment({ HF_HUB_OFFLINE: "0" }, "info").HF_HUB_OFFLINE, "0");
  });
});

describe("pipInstallArgv", () => {
  it("installs text2sql into exactly the interpreter that failed", () => {
    assert.deepEqual(pipInstallArgv({ command: "/venv/bin/python", args: [], source: "setting" }), [
      "/venv/bin/python",
      "-m",
      "pip",
      "install",
      "text2sql",
    ]);
  });
});

describe("preflight (real interpreters)", () => {
  const env = serverEnvironment(process.env, "info");

  it("reports the Python and text2sql versions when text2sql imports", async () => {
    const info = await preflight(python, { env });
    assert.match(info.python, /^3\.\d+\.\d+/);
    assert.match(info.text2sql, /^\d+\.\d+/);
    assert.ok(info.executable.length > 0);
  });

  it("says text2sql is missing, and how to install it, when the interpreter lacks it", async () => {
    // -I -S: an isolated Python without site-packages, i.e. one where text2sql is not installed.
    const bare: ResolvedInterpreter = { command: PYTHON, args: ["-I", "-S"], source: "setting" };
    await assert.rejects(preflight(bare, { env }), (error: unknown) => {
      assert.ok(error instanceof PreflightError);
      assert.equal(error.kind, "text2sql-missing");
      assert.match(error.message, /text2sql is not installed in the Python ".* -I -S"\. Install it with ".* -I -S -m pip install text2sql"/);
      assert.match(error.detail, /No module named 'text2sql'/);
      return true;
    });
  });

  it("says the interpreter was not found, naming the setting", async () => {
    const missing: ResolvedInterpreter = { command: "/nonexistent/bin/python3", args: [], source: "setting" };
    await assert.rejects(preflight(missing, { env }), (error: unknown) => {
      assert.ok(error instanceof PreflightError);
      assert.equal(error.kind, "interpreter-not-found");
      assert.match(error.message, /"\/nonexistent\/bin\/python3" was not found \(ENOENT\)\. Set text2sql\.python/);
      return true;
    });
  });

  it("reports an import that crashes with the last line of the traceback", async () => {
    await withFakeText2sql("raise RuntimeError('broken install: missing libfoo')\n", async (dir) => {
      await assert.rejects(preflight(python, { env: { ...env, PYTHONPATH: dir } }), (error: unknown) => {
        assert.ok(error instanceof PreflightError);
        assert.equal(error.kind, "import-failed");
        assert.match(error.message, /"import text2sql" failed in the Python ".*": RuntimeError: broken install: missing libfoo/);
        return true;
      });
    });
  });

  it("times out on an interpreter that hangs", async () => {
    await withFakeText2sql("import time\ntime.sleep(30)\n", async (dir) => {
      await assert.rejects(preflight(python, { env: { ...env, PYTHONPATH: dir }, timeoutMs: 500 }), (error: unknown) => {
        assert.ok(error instanceof PreflightError);
        assert.equal(error.kind, "timeout");
        return true;
      });
    });
  });
});

describe("runVisibleProcess", () => {
  it("streams output and resolves with the exit code", async () => {
    let text = "";
    const run = runVisibleProcess([PYTHON, "-c", "import sys; print('collecting text2sql'); sys.exit(3)"], process.env, (chunk) => (text += chunk));
    assert.equal(await run.exitCode, 3);
    assert.match(text, /collecting text2sql/);
  });

  it("resolves with null when the program does not exist", async () => {
    let text = "";
    const run = runVisibleProcess(["/nonexistent/pip"], process.env, (chunk) => (text += chunk));
    assert.equal(await run.exitCode, null);
    assert.match(text, /ENOENT/);
  });
});
