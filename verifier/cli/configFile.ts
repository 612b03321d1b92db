/**
 * `--config <file>` of the daemons: TOML (`.toml`) or JSON (`.json`), keys = the long flag names
 * in camelCase (`rpcUrl`, `pollInterval`, `dataDir`, `audit = false` for `--no-audit`).
 * Precedence is flag > env > config file > default: commander has already applied flags and env
 * when the preAction hook runs, so the file only fills options whose value is still a default.
 */
import fs from "node:fs";
import path from "node:path";
import type { Command, Option } from "commander";
import { parse as parseToml } from "smol-toml";
import { UPowError } from "../errors";

export class ConfigFileError extends UPowError {
  override readonly name = "ConfigFileError";
}

function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (cause) {
    throw new ConfigFileError(`cannot read config file ${file}`, { cause, details: { file } });
  }
  const ext = path.extname(file).toLowerCase();
  let parsed: unknown;
  try {
    if (ext === ".toml") parsed = parseToml(text);
    else if (ext === ".json") parsed = JSON.parse(text);
    else throw new ConfigFileError(`config file ${file} must end in .toml or .json`, { details: { file } });
  } catch (cause) {
    if (cause instanceof ConfigFileError) throw cause;
    throw new ConfigFileError(
      `config file ${file} is not valid ${ext.slice(1).toUpperCase()}: ${cause instanceof Error ? cause.message.split("\n")[0] : String(cause)}`,
      { cause, details: { file } },
    );
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
    throw new ConfigFileError(`config file ${file} must hold a table/object of options`, { details: { file } });
  return parsed as Record<string, unknown>;
}

/** Sets every key of the file as an option value of source "config", unless a flag or env var gave it. */
export function applyConfigFile(cmd: Command, file: string): void {
  const values = readConfigFile(file);
  const byKey = new Map<string, Option>();
  for (const o of cmd.options) if (o.long && o.attributeName() !== "config") byKey.set(o.attributeName(), o);
  for (const [key, raw] of Object.entries(values)) {
    const option = byKey.get(key);
    const bad = (why: string): ConfigFileError =>
      new ConfigFileError(`config file ${file}: key "${key}" ${why}`, { details: { file, key } });
    if (!option)
      throw bad(
        `is not an option of \`${[cmd.parent?.name(), cmd.name()].filter(Boolean).join(" ")}\` (keys are long flag names in camelCase, e.g. rpcUrl, pollInterval)`,
      );
    // Checked even where a flag or env var wins: a file that cannot run alone is wrong today.
    const value = convert(option, raw, bad);
    const source = cmd.getOptionValueSource(key);
    if (source !== "cli" && source !== "env") cmd.setOptionValueWithSource(key, value, "config");
  }
}

function convert(option: Option, raw: unknown, bad: (why: string) => ConfigFileError): unknown {
  const takesValue = option.required || option.optional;
  if (!takesValue) {
    if (typeof raw !== "boolean") throw bad("must be true or false");
    // `--no-audit` stores `audit`: the file says the value, not the flag.
    return raw;
  }
  const items = Array.isArray(raw) ? raw : [raw];
  if (items.length === 0 || (Array.isArray(raw) && !option.variadic))
    throw bad(option.variadic ? "must not be empty" : "takes one value, not a list");
  let value: unknown = undefined;
  for (const item of items) {
    if (typeof item !== "string" && typeof item !== "number" && typeof item !== "bigint") throw bad("must be a string or a number");
    const text = String(item);
    if (option.argChoices && !option.argChoices.includes(text)) throw bad(`must be one of ${option.argChoices.join(", ")}`);
    try {
      if (option.parseArg) value = option.parseArg(text, value as never);
      else value = option.variadic ? [...((value as string[] | undefined) ?? []), text] : text;
    } catch (cause) {
      throw bad(`is invalid: ${cause instanceof UPowError ? cause.shortMessage : cause instanceof Error ? cause.message : String(cause)}`);
    }
  }
  return value;
}
