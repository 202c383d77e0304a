// Attacks on Permit2 payments against a real chain (Hardhat with our Permit2, the x402 exact
// proxy, an OBOL-like 18-decimal token and an EURC-like token, both paid here through
// Permit2), through forwardAuth and the in-process facilitator: a Permit2 nonce spent on
// one token cannot pay another token (not even on a verifier that forgot it: another
// replica, a restart), and balances move by exactly the price, once.
import { createPublicClient, createWalletClient, erc20Abi, http, maxUint256, type PublicClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Chain, PERMIT2_ADDRESS, startChain } from "../../dev/chain/chain.ts";
import { forwardAuth } from "../forward-auth.ts";
import { memoryReplayGuard } from "../replay-guard.ts";
import { chainClients } from "./chain-clients.ts";
import { localFacilitator } from "./facilitator-local.ts";
import { OBOL_ASSET, paidRequestV2, pricedRoute, signedPermit2Payment, verifierDeps } from "../test-support.ts";

describe("a Permit2 nonce on a real chain", () => {
  let chain: Chain;
  let reader: PublicClient;
  const seller = () => chain.accounts[9]!.address;
  const buyer = () => privateKeyToAccount(chain.accounts[6]!.privateKey);
  const obolRoute = () => pricedRoute({ price: "0.001", payTo: seller(), asset: OBOL_ASSET }, { name: "obol", namespace: "alice" });
  const eurcRoute = () =>
    pricedRoute({ price: "0.25", payTo: seller(), asset: { address: chain.eurc.address, symbol: "EURC", decimals: 6, transferMethod: "permit2" } }, { name: "eurc", namespace: "bob" });
  const balance = (token: `0x${string}`, address: `0x${string}`) => reader.readContract({ address: token, abi: erc20Abi, functionName: "balanceOf", args: [address] });
  const facilitator = () => localFacilitator(chainClients({ rpcUrls: { "base-sepolia": chain.rpcUrl }, settlementAccount: privateKeyToAccount(chain.accounts[0]!.privateKey) }));

  beforeAll(async () => {
    chain = await startChain();
    reader = createPublicClient({ chain: chain.viemChain, transport: http(chain.rpcUrl) }) as PublicClient;
    const wallet = createWalletClient({ chain: chain.viemChain, transport: http(chain.rpcUrl), account: buyer() });
    for (const token of [chain.obol.address, chain.eurc.address]) {
      const hash = await wallet.writeContract({ address: token, abi: erc20Abi, functionName: "approve", args: [PERMIT2_ADDRESS, maxUint256] });
      await reader.waitForTransactionReceipt({ hash });
    }
  }, 120_000);
  afterAll(async () => await chain?.stop(), 30_000);

  it("spent on OBOL, cannot pay EURC on another tenant's route, even on a verifier that holds no record of it", { timeout: 60_000 }, async () => {
    const now = (await reader.getBlock()).timestamp;
    const nowSeconds = () => now;
    const deadline = String(now + 300n);
    const obol = obolRoute();
    const eurc = eurcRoute();
    const guard = memoryReplayGuard();
    const [obolBefore, eurcBefore] = [await balance(chain.obol.address, seller()), await balance(chain.eurc.address, seller())];

    const paid = await forwardAuth(
      paidRequestV2(await signedPermit2Payment(obol, { from: buyer().address, nonce: "123456789", deadline }, { signer: buyer() })),
      verifierDeps(facilitator(), { guard, nowSeconds }, obol),
    );
    expect(paid.answer.status).toBe(200);
    expect(await balance(chain.obol.address, seller())).toBe(obolBefore + 10n ** 15n);

    const sameNonceOtherToken = await signedPermit2Payment(eurc, { from: buyer().address, nonce: "123456789", deadline }, { signer: buyer() });
    // The same verifier: held under the owner's Permit2 nonce, whatever the token.
    expect((await forwardAuth(paidRequestV2(sameNonceOtherToken), verifierDeps(facilitator(), { guard, nowSeconds }, eurc))).answer.status).toBe(402);
    // Another replica (or a restart): the chain's nonce bitmap refuses it.
    const forgetful = await forwardAuth(paidRequestV2(sameNonceOtherToken), verifierDeps(facilitator(), { guard: memoryReplayGuard(), nowSeconds }, eurc));
    expect(forgetful.answer.status).toBe(402);
    expect(await balance(chain.eurc.address, seller())).toBe(eurcBefore);
    expect(await balance(chain.obol.address, seller())).toBe(obolBefore + 10n ** 15n);

    // A fresh nonce pays EURC by Permit2: exactly 0.25 EURC (6 decimals), and no more OBOL.
    const fresh = await forwardAuth(
      paidRequestV2(await signedPermit2Payment(eurc, { from: buyer().address, nonce: "123456790", deadline }, { signer: buyer() })),
      verifierDeps(facilitator(), { guard, nowSeconds }, eurc),
    );
    expect(fresh.answer.status).toBe(200);
    expect(await balance(chain.eurc.address, seller())).toBe(eurcBefore + 250_000n);
    expect(await balance(chain.obol.address, seller())).toBe(obolBefore + 10n ** 15n);
  });
});
