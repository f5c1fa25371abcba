/** VS Code settings -> validated settings -> server settings, and what a change requires. */

import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  ChangeDebouncer,
  classifyChange,
  connectionTarget,
  DEFAULT_SETTINGS,
  expandConnectionVariables,
  readSettings,
  SettingsError,
  toServerSettings,
  type ChangeImpact,
  type ExtensionSettings,
} from "../src/settings";

function getterFor(values: Record<string, unknown>) {
  return (key: string) => values[key];
}

function settingsWith(overrides: Partial<ExtensionSettings>): ExtensionSettings {
  return { ...DEFAULT_SETTINGS, ...overrides };
}

describe("readSettings", () => {
  it("reads every setting and trims strings", () => {
    const { settings, problems } = readSettings(
      getterFor({
        python: " /venv/bin/python ",
        connections: { shop: "postgresql://me@localhost/shop" },
        connection: "shop",
        model: "/models/gemma",
        adapter: "none",
        precision: "fp32",
        device: "cuda:1",
        trigger: "manual",
        maxTokens: 200,
        logLevel: "debug",
      }),
    );
    assert.deepEqual(problems, []);
    assert.deepEqual(settings, {
      python: "/venv/bin/python",
      connections: { shop: "postgresql://me@localhost/shop" },
      connection: "shop",
      model: "/models/gemma",
      adapter: "none",
      precision: "fp32",
      device: "cuda:1",
      trigger: "manual",
      maxTokens: 200,
      logLevel: "debug",
    });
  });

  it("uses the defaults when nothing is set", () => {
    assert.deepEqual(readSettings(getterFor({})), { settings: DEFAULT_SETTINGS, problems: [] });
  });

  it("falls back to defaults for invalid values, with one line per problem naming the setting", () => {
    const { settings, problems } = readSettings(
      getterFor({ precision: "fp8", trigger: "always", device: "gpu", maxTokens: -3, logLevel: 3, model: 42 }),
    );
    assert.equal(settings.precision, "auto");
    assert.equal(settings.trigger, "auto");
    assert.equal(settings.device, "auto");
    assert.equal(settings.maxTokens, 0);
    assert.equal(settings.logLevel, "info");
    assert.equal(settings.model, "");
    assert.equal(problems.length, 6);
    for (const name of ["precision", "trigger", "device", "maxTokens", "logLevel", "model"]) {
      assert.ok(problems.some((p) => p.startsWith(`text2sql.${name} `)), `no problem reported for ${name}: ${problems.join(" | ")}`);
    }
    assert.match(problems.find((p) => p.startsWith("text2sql.precision"))!, /"fp8", not one of auto, nf4, int8, w8a16, bf16, fp32; using "auto"/);
  });

  it("keeps valid named connections and skips bad names and non-URLs", () => {
    const { settings, problems } = readSettings(
      getterFor({ connections: { shop: "postgresql://me@db/shop", "bad name": "sqlite:///x.db", notes: "just text", n: 5 } }),
    );
    assert.deepEqual(settings.connections, { shop: "postgresql://me@db/shop" });
    assert.equal(problems.length, 3);
    assert.ok(problems.some((p) => p.includes('"bad name"')));
    assert.ok(problems.some((p) => p.includes("text2sql.connections.notes")));
  });

  it("rejects a connections value that is not an object", () => {
    const { settings, problems } = readSettings(getterFor({ connections: ["sqlite:///a.db"] }));
    assert.deepEqual(settings.connections, {});
    assert.match(problems[0], /must be an object/);
  });
});

describe("connectionTarget", () => {
  it("maps an empty connection to the bundled demo", () => {
    assert.deepEqual(connectionTarget(settingsWith({})), { key: "", label: "Chinook demo", value: "", kind: "demo" });
  });

  it("resolves a name from text2sql.connections to its URL", () => {
    const target = connectionTarget(settingsWith({ connections: { shop: "postgresql://me@db/shop" }, connection: "shop" }));
    assert.deepEqual(target, { key: "shop", label: "shop", value: "postgresql://me@db/shop", kind: "named" });
  });

  it("passes a URL through and leaves other names to the server's config file", () => {
    assert.equal(connectionTarget(settingsWith({ connection: "sqlite:///tmp/a.db" })).kind, "url");
    assert.deepEqual(connectionTarget(settingsWith({ connection: "warehouse" })), {
      key: "warehouse",
      label: "warehouse",
      value: "warehouse",
      kind: "config-file",
    });
  });
});

describe("toServerSettings", () => {
  it("sends only what is set, with the merged connection URL", () => {
    const settings = settingsWith({ model: "/models/tiny", adapter: "none", precision: "fp32", trigger: "manual" });
    assert.deepEqual(toServerSettings(settings, "sqlite:////tmp/chinook.sqlite"), {
      connection: "sqlite:////tmp/chinook.sqlite",
      model: "/models/tiny",
      adapter: "none",
      precision: "fp32",
      device: "auto",
      trigger: "manual",
    });
  });

  it("omits the connection for the demo database and includes maxTokens when set", () => {
    const out = toServerSettings(settingsWith({ maxTokens: 128 }), "");
    assert.deepEqual(out, { precision: "auto", device: "auto", trigger: "auto", maxTokens: 128 });
  });

  it("never sends client-only settings (interpreter, log level, the connection list)", () => {
    const out = toServerSettings(settingsWith({ python: "/p", logLevel: "debug", connections: { a: "sqlite://" } }), "") as unknown as Record<
      string,
      unknown
    >;
    assert.equal(out.python, undefined);
    assert.equal(out.logLevel, undefined);
    assert.equal(out.connections, undefined);
  });
});

describe("classifyChange", () => {
  const base = settingsWith({});
  it("restarts for the interpreter and the log level (the server's command line)", () => {
    for (const change of [{ python: "/x" }, { logLevel: "debug" as const }]) {
      assert.equal(classifyChange(base, settingsWith(change)), "restart", JSON.stringify(change));
    }
  });

  it("reconfigures the running server for connection, trigger, limits and the model (reloaded in place)", () => {
    for (const change of [
      { connection: "shop" },
      { connections: { shop: "sqlite://" } },
      { trigger: "manual" as const },
      { maxTokens: 64 },
      { model: "/m" },
      { adapter: "/a" },
      { precision: "fp32" as const },
      { device: "cpu" },
    ]) {
      assert.equal(classifyChange(base, settingsWith(change)), "reconfigure", JSON.stringify(change));
    }
  });

  it("does nothing when nothing changed, and a restart wins over a reconfigure", () => {
    assert.equal(classifyChange(base, settingsWith({})), "none");
    assert.equal(classifyChange(base, settingsWith({ trigger: "manual", python: "/venv/bin/python" })), "restart");
  });
});

describe("ChangeDebouncer", () => {
  it("acts once per burst with the strongest impact, after the quiet period", async () => {
    const applied: ChangeImpact[] = [];
    const debouncer = new ChangeDebouncer(40, (impact) => {
      applied.push(impact);
    });
    debouncer.notify("reconfigure");
    debouncer.notify("none");
    debouncer.notify("restart");
    debouncer.notify("reconfigure");
    await new Promise((resolve) => setTimeout(resolve, 15));
    assert.deepEqual(applied, [], "must wait for the burst to end");
    await new Promise((resolve) => setTimeout(resolve, 80));
    assert.deepEqual(applied, ["restart"]);
    debouncer.notify("reconfigure");
    await new Promise((resolve) => setTimeout(resolve, 80));
    assert.deepEqual(applied, ["restart", "reconfigure"]);
  });

  it("drops pending changes on dispose and ignores 'none'", async () => {
    const applied: ChangeImpact[] = [];
    const debouncer = new ChangeDebouncer(20, (impact) => {
      applied.push(impact);
    });
    debouncer.notify("none");
    debouncer.notify("restart");
    debouncer.dispose();
    await new Promise((resolve) => setTimeout(resolve, 60));
    assert.deepEqual(applied, []);
  });
});

describe("expandConnectionVariables", () => {
  const context = { workspaceFolder: "/src/shop", homeDir: "/home/ada", env: { DB_HOST: "db.local" } };

  it("expands ${workspaceFolder}, ${userHome} and ${env:NAME}", () => {
    assert.equal(expandConnectionVariables("sqlite:///${workspaceFolder}/app.db", context), "sqlite:////src/shop/app.db");
    assert.equal(expandConnectionVariables("duckdb:///${userHome}/w.duckdb", context), "duckdb:////home/ada/w.duckdb");
    assert.equal(expandConnectionVariables("postgresql://me@${env:DB_HOST}/shop", context), "postgresql://me@db.local/shop");
  });

  it("leaves plain ${NAME} for the server and Windows folders get forward slashes", () => {
    assert.equal(expandConnectionVariables("postgresql://me:${PGPASS}@h/db", context), "postgresql://me:${PGPASS}@h/db");
    assert.equal(
      expandConnectionVariables("sqlite:///${workspaceFolder}/app.db", { ...context, workspaceFolder: "C:\\src\\shop" }),
      "sqlite:///C:/src/shop/app.db",
    );
  });

  it("fails clearly without a folder or with an unset variable", () => {
    assert.throws(
      () => expandConnectionVariables("sqlite:///${workspaceFolder}/a.db", { ...context, workspaceFolder: undefined }),
      (error: unknown) => error instanceof SettingsError && /no folder is open/.test(error.message),
    );
    assert.throws(() => expandConnectionVariables("mysql://u@${env:NOPE}/d", context), /environment variable NOPE is not set/);
  });
});
