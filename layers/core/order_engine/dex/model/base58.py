"""Base58 (Bitcoin alphabet), the encoding of Solana signatures, blockhashes and addresses."""
from __future__ import annotations

ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_CHUNK_DIGITS = 10
_CHUNK = 58**_CHUNK_DIGITS  # divide by ten digits at a time: far fewer big-integer divisions


def b58encode(data: bytes) -> str:
    n = int.from_bytes(data, "big")
    chunks = []
    while n:
        n, chunk = divmod(n, _CHUNK)
        chunks.append(chunk)
    digits: list[str] = []
    for i, chunk in enumerate(chunks):
        last = i == len(chunks) - 1
        for _ in range(_CHUNK_DIGITS):
            if last and chunk == 0:
                break
            chunk, r = divmod(chunk, 58)
            digits.append(ALPHABET[r])
    leading_zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * leading_zeros + "".join(reversed(digits))
