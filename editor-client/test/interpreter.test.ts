/** Which Python the extension runs: setting, then the Python extension, then the default. */

import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";

import {
  describeInterpreter,
  interpreterFromPythonExtension,
  InterpreterSettingError,
  resolveInterpreter,
  type InterpreterInputs,
  type PythonExtensionApiLike,
} from "../src/interpreter";

const noDirs = () => false;

function inputs(overrides: Partial<InterpreterInputs>): InterpreterInputs {
  return { platform: "linux", env: {}, isDirectory: noDirs, homeDir: "/home/ada", ...overrides };
}

describe("resolveInterpreter", () => {
  it("uses the text2sql.python setting before the Python extension", () => {
    const resolved = resolveInterpreter(inputs({ configured: "/opt/venv/bin/python", pythonExtensionCommand: ["/usr/bin/python3.12"] }));
    assert.deepEqual(resolved, { command: "/opt/venv/bin/python", args: [], source: "setting" });
  });

  it("falls back to the Python extension's interpreter, keeping its extra arguments", () => {
    const resolved = resolveInterpreter(inputs({ configured: "  ", pythonExtensionCommand: ["conda", "run", "-n", "sql", "python"] }));
    assert.deepEqual(resolved, { command: "conda", args: ["run", "-n", "sql", "python"], source: "python-extension" });
  });

  it("defaults to python3 on Linux and macOS and python on Windows", () => {
    assert.equal(resolveInterpreter(inputs({})).command, "python3");
    assert.equal(resolveInterpreter(inputs({ platform: "darwin" })).command, "python3");
    assert.equal(resolveInterpreter(inputs({ platform: "win32" })).command, "python");
    assert.equal(resolveInterpreter(inputs({ pythonExtensionCommand: [] })).source, "default");
  });

  it("expands ~, ${workspaceFolder}, ${userHome} and ${env:NAME}", () => {
    assert.equal(resolveInterpreter(inputs({ configured: "~/.venvs/sql/bin/python" })).command, "/home/ada/.venvs/sql/bin/python");
    assert.equal(
      resolveInterpreter(inputs({ configured: "${workspaceFolder}/.venv/bin/python", workspaceFolder: "/src/shop" })).command,
      "/src/shop/.venv/bin/python",
    );
    assert.equal(resolveInterpreter(inputs({ configured: "${userHome}/py/bin/python3" })).command, "/home/ada/py/bin/python3");
    assert.equal(
      resolveInterpreter(inputs({ configured: "${env:VIRTUAL_ENV}/bin/python", env: { VIRTUAL_ENV: "/venvs/a" } })).command,
      "/venvs/a/bin/python",
    );
  });

  it("resolves a relative path against the workspace folder, and refuses one without a folder", () => {
    assert.equal(resolveInterpreter(inputs({ configured: ".venv/bin/python", workspaceFolder: "/src/shop" })).command, "/src/shop/.venv/bin/python");
    assert.throws(() => resolveInterpreter(inputs({ configured: ".venv/bin/python" })), InterpreterSettingError);
    assert.throws(() => resolveInterpreter(inputs({ configured: "${workspaceFolder}/python" })), /no folder is open/);
  });

  it("keeps a bare command for PATH lookup", () => {
    assert.equal(resolveInterpreter(inputs({ configured: "python3.12", workspaceFolder: "/src" })).command, "python3.12");
  });

  it("maps a virtual environment directory to its interpreter, per platform", () => {
    const venv = fs.mkdtempSync(path.join(os.tmpdir(), "t2s-venv-"));
    try {
      assert.equal(resolveInterpreter({ platform: "linux", env: {}, configured: venv }).command, path.join(venv, "bin", "python"));
      const windows = resolveInterpreter(inputs({ platform: "win32", configured: "C:\\envs\\sql", isDirectory: () => true }));
      assert.equal(windows.command, "C:\\envs\\sql\\Scripts\\python.exe");
    } finally {
      fs.rmSync(venv, { recursive: true });
    }
  });

  it("treats a Windows relative path with backslashes as relative to the folder", () => {
    const resolved = resolveInterpreter(inputs({ platform: "win32", configured: ".venv\\Scripts\\python.exe", workspaceFolder: "C:\\src\\shop" }));
    assert.equal(resolved.command, "C:\\src\\shop\\.venv\\Scripts\\python.exe");
  });

  it("describes where the interpreter came from", () => {
    assert.match(describeInterpreter(resolveInterpreter(inputs({}))), /^python3 \(default; set text2sql\.python/);
    assert.match(describeInterpreter(resolveInterpreter(inputs({ configured: "/x/python" }))), /text2sql\.python setting/);
  });
});

describe("interpreterFromPythonExtension", () => {
  it("returns undefined when the Python extension is not installed", async () => {
    assert.equal(await interpreterFromPythonExtension(undefined), undefined);
  });

  it("reads the active environment's executable through the environments API", async () => {
    const seen: unknown[] = [];
    const api: PythonExtensionApiLike = {
      ready: Promise.resolve(),
      environments: {
        getActiveEnvironmentPath: (resource) => {
          seen.push(resource);
          return { id: "venv-1", path: "/src/shop/.venv" };
        },
        resolveEnvironment: (env) => {
          seen.push(env);
          return Promise.resolve({ executable: { uri: { fsPath: "/src/shop/.venv/bin/python" } } });
        },
      },
    };
    assert.deepEqual(await interpreterFromPythonExtension(api, "folder-uri"), ["/src/shop/.venv/bin/python"]);
    assert.deepEqual(seen, ["folder-uri", { id: "venv-1", path: "/src/shop/.venv" }]);
  });

  it("falls back to the older settings API when the environment has no executable", async () => {
    const api: PythonExtensionApiLike = {
      environments: {
        getActiveEnvironmentPath: () => ({ id: "conda", path: "/opt/conda/envs/empty" }),
        resolveEnvironment: () => Promise.resolve({ executable: {} }),
      },
      settings: { getExecutionDetails: () => ({ execCommand: ["/opt/conda/bin/python", "-X", "utf8"] }) },
    };
    assert.deepEqual(await interpreterFromPythonExtension(api), ["/opt/conda/bin/python", "-X", "utf8"]);
  });

  it("returns undefined when no interpreter is selected", async () => {
    const api: PythonExtensionApiLike = { settings: { getExecutionDetails: () => ({ execCommand: undefined }) } };
    assert.equal(await interpreterFromPythonExtension(api), undefined);
  });
});
