"""Lossless metadata stripping of a JPEG: its marker segments rewritten, its pixels never decoded.

A JPEG is a list of marker segments, then entropy-coded scan data. What a decoder needs to
reproduce the pixels is kept byte for byte: the frame (SOF), quantisation and Huffman tables (DQT,
DHT, DAC), restart interval (DRI, RST), scans (SOS and their data, DNL), an Adobe APP14 (it says
whether the three channels are YCbCr or RGB) and a JFIF APP0 (rewritten without its optional
thumbnail). Everything else is dropped: APP1 (EXIF with GPS, XMP), APP2 (ICC, FlashPix, MPF),
APP3-APP13 (IPTC, Photoshop), APP15, comments, and whatever follows the end of the image (the
extra pictures of a multi-picture file, makers' trailers).

`strip` answers None, and the caller decodes and re-encodes instead, for anything it does not
recognise (a reserved marker, a segment running past the end, no end of image): it never guesses.
"""

import re
import struct

SOI, EOI, SOS = 0xD8, 0xD9, 0xDA
_KEPT = {
    *range(0xC0, 0xC8), *range(0xC9, 0xD0),  # SOF0-15 (less JPG 0xC8), DHT 0xC4, DAC 0xCC
    0xDB, 0xDC, 0xDD,  # DQT, DNL, DRI
}
_DROPPED = {*range(0xE1, 0xF0), 0xFE}  # APP1-APP15 (APP14 unless Adobe's), COM
_APP0, _APP14 = 0xE0, 0xEE
# The next marker in scan data: 0xFF not followed by a stuffed 0x00, a restart marker or a fill 0xFF.
_MARKER_IN_SCAN = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")


def _jfif_without_thumbnail(payload: bytes) -> bytes:
    # identifier (5), version (2), density unit and X/Y density (5); thumbnail size 0x0, no pixels.
    body = payload[:12] + b"\x00\x00"
    return b"\xff\xe0" + struct.pack(">H", len(body) + 2) + body


def strip(data: bytes) -> bytes | None:
    """`data` with only the segments needed to decode it, or None if its structure is not one this
    rewrites with certainty."""
    if data[:2] != b"\xff\xd8":
        return None
    out = [b"\xff\xd8"]
    pos, size, in_scan = 2, len(data), False
    while True:
        if in_scan:
            found = _MARKER_IN_SCAN.search(data, pos)
            if found is None:
                return None  # no end of image: truncated, or not a JPEG this understands
            out.append(data[pos:found.start()])
            pos = found.start()
        while pos < size and data[pos] == 0xFF and pos + 1 < size and data[pos + 1] == 0xFF:
            pos += 1  # fill bytes before a marker
        if pos + 2 > size or data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == EOI:
            out.append(b"\xff\xd9")
            return b"".join(out)  # anything after the end of the image is dropped
        if pos + 4 > size:
            return None
        (length,) = struct.unpack(">H", data[pos + 2:pos + 4])
        end = pos + 2 + length
        if length < 2 or end > size:
            return None
        payload = data[pos + 4:end]
        if marker in _KEPT or marker == SOS:
            out.append(data[pos:end])
        elif marker == _APP0:
            if payload[:5] == b"JFIF\x00" and len(payload) >= 14:
                out.append(_jfif_without_thumbnail(payload))
        elif marker == _APP14 and payload[:5] == b"Adobe":
            if len(payload) != 12:
                return None  # colour-transform flags in a layout this does not know
            out.append(data[pos:end])
        elif marker not in _DROPPED:
            return None  # a reserved or unknown marker: not ours to judge
        pos = end
        in_scan = marker == SOS
