"""web3.py against the `eth` example: over IPC (AsyncIPCProvider, on the node's Unix socket)
and over WebSocket (WebSocketProvider). For each: the chain id, the block number, a balance, a
newHeads subscription of 3 headers in a row, and unsubscribing. One line per transport; exits
non-zero on any failure.

Usage: web3_eth.py IPC_PATH WS_URL
"""

import asyncio
import sys

from web3 import AsyncIPCProvider, AsyncWeb3, WebSocketProvider

ADDRESS = "0x0000000000000000000000000000000000000042"


async def check(w3, name):
    chain = await w3.eth.chain_id
    assert chain == 31337, f"{name}: chain id {chain}"
    block = await w3.eth.block_number
    assert isinstance(block, int) and block >= 0, f"{name}: block number {block!r}"
    balance = await w3.eth.get_balance(ADDRESS, "latest")
    assert balance == 10**18 + 0x42, f"{name}: balance {balance}"
    subscription = await w3.eth.subscribe("newHeads")
    heads = []
    async for message in w3.socket.process_subscriptions():
        assert message["subscription"] == subscription, message
        header = message["result"]
        for field in ("hash", "parentHash", "timestamp", "miner", "gasLimit", "baseFeePerGas"):
            assert field in header, f"{name}: {field} missing from {header}"
        heads.append(header["number"])
        if len(heads) == 3:
            break
    assert heads == list(range(heads[0], heads[0] + 3)), f"{name}: heads {heads}"
    assert heads[0] >= block, f"{name}: heads {heads} after block {block}"
    unsubscribed = await w3.eth.unsubscribe(subscription)
    assert unsubscribed is True, f"{name}: unsubscribe answered {unsubscribed!r}"
    print(f"{name}: chain id {chain}, block {block}, balance {balance}, heads {heads}, unsubscribed")


async def main(ipc_path, ws_url):
    async with AsyncWeb3(AsyncIPCProvider(ipc_path)) as w3:
        await check(w3, "ipc")
    async with AsyncWeb3(WebSocketProvider(ws_url)) as w3:
        await check(w3, "websocket")


if __name__ == "__main__":
    asyncio.run(asyncio.wait_for(main(sys.argv[1], sys.argv[2]), 30))
