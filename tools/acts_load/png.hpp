// Real PNG images without zlib: stored deflate blocks, CRC-32 and Adler-32 computed here.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <string_view>

namespace acts_load {

/// CRC-32 (ISO-HDLC, as in PNG chunks and gzip), continuing from `crc`.
std::uint32_t crc32(std::string_view bytes, std::uint32_t crc = 0);

/// Adler-32 (the zlib stream checksum), continuing from `adler`.
std::uint32_t adler32(std::string_view bytes, std::uint32_t adler = 1);

/// FNV-1a 64-bit: a cheap fingerprint to compare uploaded and stored images.
std::uint64_t fnv1a64(std::string_view bytes);

/// Encodes an 8-bit RGB image (`rgb` holds width * height * 3 bytes, row by
/// row) as a PNG whose zlib stream uses stored (uncompressed) deflate blocks.
/// Any PNG decoder reads it; its size is about width * height * 3.
std::string encode_png(std::uint32_t width, std::uint32_t height, std::string_view rgb);

/// A PNG of random pixels (which no compressor could shrink anyway) whose
/// file size is at most `target_bytes` and short of it by less than one row
/// of pixels (about 2% at 1 KiB, 0.2% at 1 MiB).
std::string noise_png(std::size_t target_bytes, std::mt19937_64& rng);

} // namespace acts_load
