/**
 * `bin/upow.js dashboard` as an operator runs it: a child process against a `npx hardhat node`
 * child deployed with the deploy command, bundling its page at start (dist/ or ts-node alike).
 * Serves the page, its script and styles, and the view of the chain's events as JSON; stops on
 * SIGTERM; refuses bad flags by name. The page itself is exercised in dashboard.test.ts.
 */
import { expect } from "chai";
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import hre from "hardhat";
import { JsonRpcProvider, parseUnits } from "ethers";
import { runDeploy } from "../../scripts/lib/deployCommand";
import { hardhatAccountKey } from "../../scripts/lib/demo/accounts";
import { formatAmount } from "../../verifier/chain/format";
import { connectDeployment } from "../../verifier/chain/registry";
import type { DashboardView } from "../../verifier/dashboard/model";
import { TestToken__factory } from "../../typechain-types";
import { startHardhatNode, type HardhatNodeProcess } from "../helpers/hardhatNode";

const ROOT = path.join(__dirname, "..", "..");
const UPOW = path.join(ROOT, "bin", "upow.js");
const CLEAN_ENV = { UPOW_DEPLOYMENTS: "", UPOW_RPC_URLS: "", UPOW_DASHBOARD_PORT: "", UPOW_DASHBOARD_HOST: "" };

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [UPOW, ...args], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...CLEAN_ENV },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("upow dashboard (CLI against a hardhat node)", function () {
  this.timeout(300_000);
  let node: HardhatNodeProcess | undefined;
  let dir = "";
  let child: ChildProcess | undefined;
  let url = "";
  let stakeText = "";
  let stderr = "";
  const staker = hardhatAccountKey(hre, 2);

  before(async function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "upow-dashboard-cli-"));
    node = await startHardhatNode();
    const provider = new JsonRpcProvider(node.url, undefined, { pollingInterval: 100 });
    try {
      const { deployment, file } = await runDeploy({
        signer: await provider.getSigner(0),
        network: "localhost",
        outDir: dir,
        configFile: path.join(ROOT, "deployments", "config", "localhost.json"),
      });
      // Account #2 stakes 300 tokens: a Staked event the dashboard must show with its amount.
      const s2 = await provider.getSigner(2);
      const c2 = connectDeployment(deployment, s2);
      const stk = TestToken__factory.connect(deployment.contracts.StakingToken.address, s2);
      await (await stk.mint(staker.address, parseUnits("300", 18))).wait();
      await (await stk.approve(await c2.stakeManager.getAddress(), parseUnits("300", 18))).wait();
      await (await c2.stakeManager.stake(parseUnits("300", 18))).wait();
      stakeText = formatAmount(parseUnits("300", 18), { symbol: await stk.symbol(), decimals: Number(await stk.decimals()) });

      child = spawn(
        process.execPath,
        [UPOW, "--json", "dashboard", "--deployments", file, "--rpc-url", node.url, "--port", "0", "--cache-dir", path.join(dir, "cache")],
        {
          cwd: ROOT,
          stdio: ["ignore", "pipe", "pipe"],
          env: { ...process.env, ...CLEAN_ENV },
        },
      );
      child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
      url = await new Promise<string>((resolve, reject) => {
        let out = "";
        child!.stdout!.on("data", (d: Buffer) => {
          out += d.toString();
          const m = /"url":\s*"([^"]+)"/.exec(out);
          if (m) resolve(m[1]!);
        });
        child!.once("exit", (code) => reject(new Error(`upow dashboard exited ${code}: ${stderr}`)));
      });
    } finally {
      provider.destroy();
    }
  });

  after(async function () {
    if (child && child.exitCode === null) child.kill("SIGKILL");
    await node?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("listens on 127.0.0.1 and serves the page, its bundled script (uPlot inside) and styles, nothing from elsewhere", async function () {
    expect(new URL(url).hostname).to.equal("127.0.0.1");
    const page = await fetch(`${url}/`);
    expect(page.status).to.equal(200);
    const html = await page.text();
    expect(html).to.include('<script src="/app.js"></script>');
    expect(html).not.to.match(/https?:\/\//);
    expect(page.headers.get("content-security-policy")).to.include("default-src 'self'");
    const js = await fetch(`${url}/app.js`);
    expect(js.headers.get("content-type")).to.include("javascript");
    expect(await js.text()).to.include("uplot");
    expect(await (await fetch(`${url}/app.css`)).text()).to.include(".uplot");
    expect((await fetch(`${url}/nope`)).status).to.equal(404);
    expect((await fetch(`${url}/api/state`, { method: "POST" })).status).to.equal(405);
  });

  it("serves the chain's view as JSON: the deployment's network and the staker with its stake", async function () {
    const view = (await (await fetch(`${url}/api/state`)).json()) as DashboardView;
    expect(view.network).to.equal("localhost");
    expect(view.head.block).to.be.greaterThan(0);
    const account = view.accounts.find((a) => a.address === staker.address);
    expect(account?.roles).to.deep.equal(["staker"]);
    expect(account?.free?.text).to.equal(stakeText);
  });

  it("stops on SIGTERM", async function () {
    const exited = new Promise<number | null>((resolve) => child!.once("exit", (code) => resolve(code)));
    child!.kill("SIGTERM");
    expect(await exited, stderr).to.equal(0);
  });

  it("names a bad flag or a missing deployment", async function () {
    const [badUrl, badPort, noDeployment] = await Promise.all([
      run(["dashboard", "--metrics-url", "ftp://127.0.0.1:9464"]),
      run(["dashboard", "--port", "70000"]),
      run(["dashboard", "--port", "0"]),
    ]);
    expect(badUrl.code).to.equal(1);
    expect(badUrl.stderr).to.include('--metrics-url "ftp://127.0.0.1:9464" must be http(s)');
    expect(badPort.code).to.equal(1);
    expect(badPort.stderr).to.include("--port must be an integer in 0..65535");
    expect(noDeployment.code).to.equal(1);
    expect(noDeployment.stderr).to.include("no deployment: pass --deployments <file> or set UPOW_DEPLOYMENTS");
  });
});
