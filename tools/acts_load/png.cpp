// PNG encoding with stored deflate blocks, and the checksums it needs (see png.hpp).
#include "tools/acts_load/png.hpp"

#include <algorithm>
#include <array>
#include <cmath>

namespace acts_load {

namespace {

constexpr std::array<std::uint32_t, 256> make_crc_table() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t n = 0; n < 256; ++n) {
    std::uint32_t c = n;
    for (int k = 0; k < 8; ++k)
      c = (c & 1) != 0 ? 0xedb88320u ^ (c >> 1) : c >> 1;
    table[n] = c;
  }
  return table;
}

constexpr auto crc_table = make_crc_table();

void put_u32_be(std::string& out, std::uint32_t value) {
  out.push_back(static_cast<char>(value >> 24));
  out.push_back(static_cast<char>(value >> 16 & 0xff));
  out.push_back(static_cast<char>(value >> 8 & 0xff));
  out.push_back(static_cast<char>(value & 0xff));
}

void put_u16_le(std::string& out, std::uint16_t value) {
  out.push_back(static_cast<char>(value & 0xff));
  out.push_back(static_cast<char>(value >> 8));
}

// A PNG chunk: length, type, data, CRC over type and data.
void put_chunk(std::string& out, std::string_view type, std::string_view data) {
  put_u32_be(out, static_cast<std::uint32_t>(data.size()));
  auto crc_start = out.size();
  out.append(type);
  out.append(data);
  put_u32_be(out, crc32(std::string_view{out}.substr(crc_start)));
}

/// The largest payload of one stored deflate block (LEN is 16 bits).
constexpr std::size_t max_stored_block = 65535;

// A zlib stream (RFC 1950) holding `data` in stored deflate blocks (RFC 1951 §3.2.4).
std::string zlib_stored(std::string_view data) {
  std::string out;
  out.reserve(data.size() + data.size() / max_stored_block * 5 + 16);
  // CMF 0x78: deflate, 32K window; FLG 0x01 makes CMF*256+FLG a multiple of 31.
  out.push_back(0x78);
  out.push_back(0x01);
  std::size_t offset = 0;
  do {
    auto length = std::min(max_stored_block, data.size() - offset);
    bool final_block = offset + length == data.size();
    out.push_back(final_block ? 0x01 : 0x00); // BFINAL, BTYPE=00 (stored)
    put_u16_le(out, static_cast<std::uint16_t>(length));
    put_u16_le(out, static_cast<std::uint16_t>(~length & 0xffff));
    out.append(data.substr(offset, length));
    offset += length;
  } while (offset < data.size());
  put_u32_be(out, adler32(data));
  return out;
}

} // namespace

std::uint32_t crc32(std::string_view bytes, std::uint32_t crc) {
  crc = ~crc;
  for (unsigned char b : bytes)
    crc = crc_table[(crc ^ b) & 0xff] ^ (crc >> 8);
  return ~crc;
}

std::uint32_t adler32(std::string_view bytes, std::uint32_t adler) {
  constexpr std::uint32_t modulus = 65521;
  std::uint32_t a = adler & 0xffff;
  std::uint32_t b = adler >> 16;
  // 5552 bytes is the most that can be summed before b could overflow 32 bits.
  while (!bytes.empty()) {
    auto chunk = bytes.substr(0, 5552);
    bytes.remove_prefix(chunk.size());
    for (unsigned char c : chunk) {
      a += c;
      b += a;
    }
    a %= modulus;
    b %= modulus;
  }
  return b << 16 | a;
}

std::uint64_t fnv1a64(std::string_view bytes) {
  std::uint64_t hash = 0xcbf29ce484222325ull;
  for (unsigned char b : bytes) {
    hash ^= b;
    hash *= 0x100000001b3ull;
  }
  return hash;
}

std::string encode_png(std::uint32_t width, std::uint32_t height, std::string_view rgb) {
  // Each scanline starts with its filter type; 0 (None) keeps the bytes as they are.
  std::string scanlines;
  std::size_t row_bytes = std::size_t{width} * 3;
  scanlines.reserve((row_bytes + 1) * height);
  for (std::uint32_t y = 0; y < height; ++y) {
    scanlines.push_back('\0');
    scanlines.append(rgb.substr(y * row_bytes, row_bytes));
  }

  std::string header;
  put_u32_be(header, width);
  put_u32_be(header, height);
  header.push_back(8); // bit depth
  header.push_back(2); // colour type: RGB
  header.push_back(0); // compression: deflate
  header.push_back(0); // filter method: adaptive
  header.push_back(0); // no interlace

  std::string png = "\x89PNG\r\n\x1a\n";
  put_chunk(png, "IHDR", header);
  put_chunk(png, "IDAT", zlib_stored(scanlines));
  put_chunk(png, "IEND", {});
  return png;
}

std::string noise_png(std::size_t target_bytes, std::mt19937_64& rng) {
  // The fixed part: signature 8, IHDR 25, IDAT framing 12, zlib header and
  // Adler-32 6, IEND 12; then 5 bytes per stored block and 1 per row.
  constexpr std::size_t fixed_bytes = 63;
  auto blocks = target_bytes / max_stored_block + 1;
  auto payload = target_bytes > fixed_bytes + 5 * blocks ? target_bytes - fixed_bytes - 5 * blocks : 4;
  // A near-square image whose rows fill the payload; the result falls short
  // of the target by less than one row (about sqrt(3 * target) bytes).
  auto width = std::max<std::size_t>(static_cast<std::size_t>(std::sqrt(static_cast<double>(payload) / 3)), 1);
  auto height = std::max<std::size_t>(payload / (width * 3 + 1), 1);
  std::string rgb(width * height * 3, '\0');
  // Eight noise bytes per draw: a megabyte of pixels costs about a millisecond.
  for (std::size_t i = 0; i < rgb.size(); i += 8) {
    auto bits = rng();
    for (std::size_t k = 0; k < 8 && i + k < rgb.size(); ++k)
      rgb[i + k] = static_cast<char>(bits >> (8 * k) & 0xff);
  }
  return encode_png(static_cast<std::uint32_t>(width), static_cast<std::uint32_t>(height), rgb);
}

} // namespace acts_load
