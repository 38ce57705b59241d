"""The tight loops of template synthesis, compiled with numba (``nogil``: sections run in
parallel threads; ``cache``: compiled once per machine, then loaded).

Each kernel computes exactly what the vectorised numpy it replaced computed (same integer
arithmetic; the trilinear fallback in float32 with the same operations in the same order), so
outputs are bit-identical (``Testing/synthesis/test_fingerprints.py``).
"""
from __future__ import annotations

import numpy as np
from numba import njit

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_EMPTY = np.int32(-1)


# --- a 3 x 3 x 3 neighbourhood: mixed voxels and their 27-bit codes -------------------------

@njit(cache=True, nogil=True)
def _or3(a, axis):
    out = np.zeros_like(a)
    n0, n1, n2 = a.shape
    for i in range(n0):
        for j in range(n1):
            for k in range(n2):
                if a[i, j, k]:
                    if axis == 0:
                        for d in range(max(i - 1, 0), min(i + 2, n0)):
                            out[d, j, k] = 1
                    elif axis == 1:
                        for d in range(max(j - 1, 0), min(j + 2, n1)):
                            out[i, d, k] = 1
                    else:
                        for d in range(max(k - 1, 0), min(k + 2, n2)):
                            out[i, j, d] = 1
    return out


@njit(cache=True, nogil=True)
def _and3(a, axis):
    """1 where the voxel and both neighbours along ``axis`` are set (outside counts as 0)."""
    out = np.zeros_like(a)
    n0, n1, n2 = a.shape
    for i in range(n0):
        for j in range(n1):
            for k in range(n2):
                if axis == 0:
                    ok = 0 < i < n0 - 1 and a[i - 1, j, k] and a[i, j, k] and a[i + 1, j, k]
                elif axis == 1:
                    ok = 0 < j < n1 - 1 and a[i, j - 1, k] and a[i, j, k] and a[i, j + 1, k]
                else:
                    ok = 0 < k < n2 - 1 and a[i, j, k - 1] and a[i, j, k] and a[i, j, k + 1]
                if ok:
                    out[i, j, k] = 1
    return out


@njit(cache=True, nogil=True)
def level_codes(binary):
    """``(mixed, codes)`` of a 0/1 uint8 volume: mixed (uint8) where the 3 x 3 x 3
    neighbourhood (zero outside) is neither empty nor full, and there the 27-bit code
    (int32; bit ``9 (di + 1) + 3 (dj + 1) + (dk + 1)`` = neighbour ``(di, dj, dk)``), 0 elsewhere."""
    grown = _or3(_or3(_or3(binary, 2), 1), 0)
    full = _and3(_and3(_and3(binary, 2), 1), 0)
    n0, n1, n2 = binary.shape
    mixed = np.zeros_like(binary)
    codes = np.zeros(binary.shape, dtype=np.int32)
    for i in range(n0):
        for j in range(n1):
            for k in range(n2):
                if grown[i, j, k] and not full[i, j, k]:
                    mixed[i, j, k] = 1
                    code = 0
                    b = 0
                    for di in range(-1, 2):
                        for dj in range(-1, 2):
                            for dk in range(-1, 2):
                                p, q, r = i + di, j + dj, k + dk
                                if 0 <= p < n0 and 0 <= q < n1 and 0 <= r < n2 and binary[p, q, r]:
                                    code |= 1 << b
                                b += 1
                    codes[i, j, k] = code
    return mixed, codes


# --- the hash table of codes --------------------------------------------------------------

@njit(cache=True, nogil=True)
def _home(key, bits):
    return np.int64((np.uint64(key) * _GOLDEN) >> np.uint64(64 - bits))


@njit(cache=True, nogil=True)
def build_table(keys, bits):
    """Open-addressing table (linear probing) of ``2 ** bits`` slots: ``(slot keys, slot rows)``
    (int32, -1 empty) mapping each of ``keys`` (unique, >= 0) to its position."""
    size = 1 << bits
    mask = size - 1
    slot_keys = np.full(size, _EMPTY, dtype=np.int32)
    slot_rows = np.full(size, _EMPTY, dtype=np.int32)
    for row in range(keys.size):
        s = _home(keys[row], bits)
        while slot_keys[s] != _EMPTY:
            s = (s + 1) & mask
        slot_keys[s] = keys[row]
        slot_rows[s] = row
    return slot_keys, slot_rows


@njit(cache=True, nogil=True)
def _find(slot_keys, slot_rows, bits, key):
    mask = (1 << bits) - 1
    s = _home(key, bits)
    while slot_keys[s] != _EMPTY:
        if slot_keys[s] == key:
            return slot_rows[s]
        s = (s + 1) & mask
    return -1


@njit(cache=True, nogil=True)
def lookup(slot_keys, slot_rows, bits, queries):
    """Row of each query key (int64), -1 when absent."""
    out = np.empty(queries.size, dtype=np.int64)
    for n in range(queries.size):
        out[n] = _find(slot_keys, slot_rows, bits, queries[n])
    return out


# --- one pyramid step on a section of the target ------------------------------------------

@njit(cache=True, nogil=True)
def _trilinear(source, i0, i1, wi, j0, j1, wj, k0, k1, wk):
    """float32 trilinear value, the corners summed in the order of ``resample.linear_at``."""
    one = np.float32(1.0)
    out = np.float32(0.0)
    for ci in range(2):
        a = wi if ci else one - wi
        ii = i1 if ci else i0
        for cj in range(2):
            b = wj if cj else one - wj
            jj = j1 if cj else j0
            for ck in range(2):
                c = wk if ck else one - wk
                kk = k1 if ck else k0
                out += a * b * c * np.float32(source[ii, jj, kk])
    return out


@njit(cache=True, nogil=True)
def fill_section(out, start, source, mixed, code_row, decision, nearest, bins, lower, weight,
                 n_bins):
    """Target slices ``start .. start + len(out)`` of a step: every voxel takes its parent's
    value, unless the parent is mixed: then the decision of (parent code, offset class),
    trilinear (> 0.5) on a tie. ``nearest``/``bins``/``lower`` (int64) and ``weight``
    (float32) are per axis, indexed by target index. Returns the number of ties."""
    ni, nj, nk = nearest
    bi, bj, bk = bins
    li, lj, lk = lower
    wi, wj, wk = weight
    s0, s1, s2 = source.shape
    ties = 0
    for a in range(out.shape[0]):
        i = start + a
        pi = ni[i]
        for j in range(out.shape[1]):
            pj = nj[j]
            for k in range(out.shape[2]):
                pk = nk[k]
                if not mixed[pi, pj, pk]:
                    out[a, j, k] = source[pi, pj, pk]
                    continue
                d = decision[code_row[pi, pj, pk], (bi[i] * n_bins + bj[j]) * n_bins + bk[k]]
                if d >= 0:
                    out[a, j, k] = d
                    continue
                ties += 1
                v = _trilinear(source, min(li[i], s0 - 1), min(li[i] + 1, s0 - 1), wi[i],
                               min(lj[j], s1 - 1), min(lj[j] + 1, s1 - 1), wj[j],
                               min(lk[k], s2 - 1), min(lk[k] + 1, s2 - 1), wk[k])
                out[a, j, k] = 1 if v > np.float32(0.5) else 0
    return ties


# --- the hash method's decisions ------------------------------------------------------------

@njit(cache=True, nogil=True)
def _pool_row(row, o, t, indptr, classes, ones, total):
    """Add the votes of code row ``row`` to ``o`` (ones) and ``t`` (totals) per class."""
    for e in range(indptr[row], indptr[row + 1]):
        c = classes[e]
        o[c] += ones[e]
        t[c] += total[e]


@njit(cache=True, nogil=True)
def hash_decisions(codes, used, masks, mask_ptr, margin_share, slot_keys, slot_rows, bits,
                   indptr, classes, ones, total):
    """Decision per query code (int64) and offset class, shape (codes, classes) int8: 1 (0)
    where the ones (zeros) beat half the votes by more than the margin, -1 (keep trilinear)
    otherwise. A class that some band voxel needs (``used``, bool, same shape) and the code's
    own row has no vote for takes the votes pooled over the table codes ``code ^ mask`` for
    the masks at Hamming distance 1 (``masks[mask_ptr[0]:mask_ptr[1]]``), then 2, ...; those
    must beat half by ``margin_share`` of their total (exact votes by nothing). Codes are
    independent: any split of ``codes`` gives the same rows. Also returns the number of codes
    found in the table, and per distance how many codes got pooled votes there and whether
    any code still needed them."""
    n_cls = used.shape[1]
    n_dist = mask_ptr.size - 1
    out = np.full((codes.size, n_cls), -1, dtype=np.int8)
    filled = np.zeros(n_dist, dtype=np.int64)
    reached = np.zeros(n_dist, dtype=np.bool_)
    o = np.zeros(n_cls)
    t = np.zeros(n_cls)
    po = np.zeros(n_cls)
    pt = np.zeros(n_cls)
    need = np.zeros(n_cls, dtype=np.bool_)
    pooled = np.zeros(n_cls, dtype=np.bool_)
    exact = 0
    for n in range(codes.size):
        o[:] = 0.0
        t[:] = 0.0
        pooled[:] = False
        row = _find(slot_keys, slot_rows, bits, codes[n])
        if row >= 0:
            exact += 1
            _pool_row(row, o, t, indptr, classes, ones, total)
        any_need = False
        for c in range(n_cls):
            need[c] = used[n, c] and t[c] == 0
            any_need = any_need or need[c]
        for d in range(n_dist):
            if not any_need:
                break
            reached[d] = True
            po[:] = 0.0
            pt[:] = 0.0
            for m in range(mask_ptr[d], mask_ptr[d + 1]):
                r = _find(slot_keys, slot_rows, bits, codes[n] ^ masks[m])
                if r >= 0:
                    _pool_row(r, po, pt, indptr, classes, ones, total)
            got = False
            any_need = False
            for c in range(n_cls):
                if need[c] and pt[c] > 0:
                    o[c] = po[c]
                    t[c] = pt[c]
                    pooled[c] = True
                    need[c] = False
                    got = True
                any_need = any_need or need[c]
            if got:
                filled[d] += 1
        for c in range(n_cls):
            margin = (margin_share if pooled[c] else 0.0) * t[c]
            half = 0.5 * t[c]
            if o[c] - half > margin:
                out[n, c] = 1
            if half - o[c] > margin:
                out[n, c] = 0
    return out, exact, filled, reached


# --- a level's distinct codes, each mixed voxel's row among them and the classes they need -

#: Words of the bit set of every 27-bit code.
CODE_WORDS = 1 << 21


@njit(cache=True, nogil=True)
def _popcount(x):
    """Set bits of a uint64."""
    x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return np.int64((x * np.uint64(0x0101010101010101)) >> np.uint64(56))


def code_set(mixed, codes):
    """The codes of the mixed voxels as a set: ``(words, before, distinct)``. ``words``
    (uint64, :data:`CODE_WORDS`) holds a bit per 27-bit code, ``before[w]`` (int32) the number
    of codes in the words before ``w`` (set only where ``words[w]`` is not 0: the only words
    a code of the set is looked up in), ``distinct`` (int64) the codes in ascending order
    (what ``np.unique`` gives). The arrays come from ``np.zeros`` / ``np.empty``, so only the
    pages that hold codes are ever written; a summary bit per word leads to the non-empty
    words (a skull's level has some 10^4-10^5 codes among 2^27)."""
    words = np.zeros(CODE_WORDS, dtype=np.uint64)
    before = np.empty(CODE_WORDS, dtype=np.int32)
    distinct = _code_set(mixed, codes, words, np.zeros(CODE_WORDS // 64, dtype=np.uint64), before)
    return words, before, distinct


@njit(cache=True, nogil=True)
def _lowest_bit(x):
    """Index of the lowest set bit of a non-zero uint64."""
    return _popcount((x & (~x + np.uint64(1))) - np.uint64(1))


@njit(cache=True, nogil=True)
def _code_set(mixed, codes, words, summary, before):
    """Fills ``words``, ``summary`` (a bit per non-empty word) and ``before`` (at non-empty
    words) for :func:`code_set`; returns the distinct codes in ascending order."""
    n0, n1, n2 = mixed.shape
    for i in range(n0):
        for j in range(n1):
            for k in range(n2):
                if mixed[i, j, k]:
                    c = np.int64(codes[i, j, k])
                    w = c >> 6
                    words[w] |= np.uint64(1) << np.uint64(c & 63)
                    summary[w >> 6] |= np.uint64(1) << np.uint64(w & 63)
    total = 0
    for s in range(summary.size):
        x = summary[s]
        while x:
            w = s * 64 + _lowest_bit(x)
            before[w] = total
            total += _popcount(words[w])
            x &= x - np.uint64(1)
    distinct = np.empty(total, dtype=np.int64)
    n = 0
    for s in range(summary.size):
        x = summary[s]
        while x:
            w = s * 64 + _lowest_bit(x)
            y = words[w]
            while y:
                distinct[n] = w * 64 + _lowest_bit(y)
                n += 1
                y &= y - np.uint64(1)
            x &= x - np.uint64(1)
    return distinct


@njit(cache=True, nogil=True)
def code_rows(mixed, codes, start, stop, words, before, masks_i, masks_j, masks_k, code_row,
              pooled):
    """For slices ``start .. stop`` (axis 0): ``code_row`` = the row of the voxel's code among
    the codes of ``(words, before)`` (:func:`code_set`; -1 where the voxel is not mixed),
    and ``pooled[row] |=`` the offset classes its children have (per axis a 64-bit mask of
    classes per source index; a voxel's classes are the AND of its three)."""
    _, n1, n2 = mixed.shape
    one = np.uint64(1)
    for i in range(start, stop):
        mi = masks_i[i]
        for j in range(n1):
            mij = mi & masks_j[j]
            for k in range(n2):
                if mixed[i, j, k]:
                    c = np.int64(codes[i, j, k])
                    w = c >> 6
                    below = words[w] & ((one << np.uint64(c & 63)) - one)  # codes < c in its word
                    row = np.int64(before[w]) + _popcount(below)
                    code_row[i, j, k] = row
                    pooled[row] |= mij & masks_k[k]
                else:
                    code_row[i, j, k] = -1


@njit(cache=True, nogil=True)
def class_flags(pooled, n_classes):
    """(rows, n_classes) bool from the class masks ``pooled`` (sets x rows, uint64), OR-ed over
    the sets."""
    n_sets, n_rows = pooled.shape
    out = np.zeros((n_rows, n_classes), dtype=np.bool_)
    for g in range(n_rows):
        bits = pooled[0, g]
        for t in range(1, n_sets):
            bits |= pooled[t, g]
        for c in range(n_classes):
            if (bits >> np.uint64(c)) & np.uint64(1):
                out[g, c] = True
    return out


# --- the KD-tree method ---------------------------------------------------------------------

@njit(cache=True, nogil=True)
def key_features(codes, classes, bit_table, n_bits):
    """(n, bit_table.shape[1] + n_bits) float32 0/1 features of keys ``(codes, classes)``: the
    code's bits at ``bit_table[class]`` (the fine neighbourhood seen from the class's centre),
    then the code's own ``n_bits`` bits."""
    n_fine = bit_table.shape[1]
    out = np.zeros((codes.size, n_fine + n_bits), dtype=np.float32)
    for n in range(codes.size):
        code = np.int64(codes[n])
        row = bit_table[classes[n]]
        for f in range(n_fine):
            out[n, f] = (code >> row[f]) & 1
        for b in range(n_bits):
            out[n, n_fine + b] = (code >> b) & 1
    return out


@njit(cache=True, nogil=True)
def find_entries(rows, wanted, indptr, classes):
    """Entry index of class ``wanted[n]`` in code row ``rows[n]`` (-1 when the row is -1 or
    lacks that class)."""
    out = np.full(rows.size, -1, dtype=np.int64)
    for n in range(rows.size):
        r = rows[n]
        if r >= 0:
            for e in range(indptr[r], indptr[r + 1]):
                if classes[e] == wanted[n]:
                    out[n] = e
                    break
    return out
