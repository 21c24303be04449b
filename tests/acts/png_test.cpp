// Tests of acts-load's PNG encoder and checksums: the images must be real PNGs any decoder accepts.
#include "tools/acts_load/png.hpp"

#include <gtest/gtest.h>

#include <optional>

namespace {

using namespace acts_load;

std::uint32_t u32_be(std::string_view bytes, std::size_t at) {
  auto b = [&](std::size_t i) { return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[at + i])); };
  return b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3);
}

// A minimal PNG reader for what encode_png writes: checks the signature and
// every chunk CRC, inflates stored deflate blocks, checks the Adler-32, and
// returns the IHDR width and height with the filtered scanlines.
struct decoded_png {
  std::uint32_t width = 0;
  std::uint32_t height = 0;
  std::string scanlines;
};

std::optional<decoded_png> decode(std::string_view png) {
  if (png.substr(0, 8) != std::string_view{"\x89PNG\r\n\x1a\n", 8})
    return std::nullopt;
  decoded_png result;
  std::string idat;
  bool ended = false;
  for (std::size_t at = 8; at < png.size();) {
    auto length = u32_be(png, at);
    auto type = png.substr(at + 4, 4);
    auto data = png.substr(at + 8, length);
    if (crc32(png.substr(at + 4, 4 + length)) != u32_be(png, at + 8 + length))
      return std::nullopt;
    if (type == "IHDR") {
      result.width = u32_be(data, 0);
      result.height = u32_be(data, 4);
      if (data.substr(8) != std::string_view{"\x08\x02\x00\x00\x00", 5})
        return std::nullopt;
    } else if (type == "IDAT") {
      idat.append(data);
    } else if (type == "IEND") {
      ended = at + 12 == png.size();
    }
    at += 12 + length;
  }
  if (!ended || idat.size() < 6 || ((static_cast<unsigned char>(idat[0]) << 8) | static_cast<unsigned char>(idat[1])) % 31 != 0)
    return std::nullopt;
  std::size_t at = 2;
  for (bool final_block = false; !final_block;) {
    final_block = (idat[at] & 1) != 0;
    if ((idat[at] & 6) != 0) // only stored blocks are expected
      return std::nullopt;
    auto length = static_cast<std::uint16_t>(static_cast<unsigned char>(idat[at + 1]) | static_cast<unsigned char>(idat[at + 2]) << 8);
    auto complement = static_cast<std::uint16_t>(static_cast<unsigned char>(idat[at + 3]) | static_cast<unsigned char>(idat[at + 4]) << 8);
    if (static_cast<std::uint16_t>(~length) != complement)
      return std::nullopt;
    result.scanlines.append(idat.substr(at + 5, length));
    at += 5 + length;
  }
  if (at + 4 != idat.size() || u32_be(idat, at) != adler32(result.scanlines))
    return std::nullopt;
  return result;
}

TEST(acts_png, crc32_matches_the_standard_check_value) {
  EXPECT_EQ(crc32("123456789"), 0xcbf43926u);
  EXPECT_EQ(crc32(""), 0u);
  EXPECT_EQ(crc32("6789", crc32("12345")), 0xcbf43926u);
}

TEST(acts_png, adler32_matches_known_values) {
  EXPECT_EQ(adler32("Wikipedia"), 0x11e60398u);
  EXPECT_EQ(adler32(""), 1u);
  // Long input exercises the deferred modulo.
  EXPECT_EQ(adler32(std::string(100000, '\xff')), 0x149a302cu);
}

TEST(acts_png, fnv1a64_matches_reference_values) {
  EXPECT_EQ(fnv1a64(""), 0xcbf29ce484222325ull);
  EXPECT_EQ(fnv1a64("a"), 0xaf63dc4c8601ec8cull);
  EXPECT_EQ(fnv1a64("foobar"), 0x85944171f73967e8ull);
}

TEST(acts_png, small_image_decodes_to_its_pixels) {
  std::string rgb{"\xff\x00\x00\x00\xff\x00\x00\x00\xff\x10\x20\x30", 12};
  auto png = encode_png(2, 2, rgb);
  auto image = decode(png);
  ASSERT_TRUE(image);
  EXPECT_EQ(image->width, 2u);
  EXPECT_EQ(image->height, 2u);
  EXPECT_EQ(image->scanlines, std::string("\0", 1) + rgb.substr(0, 6) + std::string("\0", 1) + rgb.substr(6, 6));
}

TEST(acts_png, image_larger_than_one_stored_block_is_valid) {
  std::mt19937_64 rng{1};
  auto png = noise_png(300 * 1024, rng);
  auto image = decode(png);
  ASSERT_TRUE(image);
  EXPECT_EQ(image->scanlines.size(), std::size_t{image->height} * (image->width * 3 + 1));
}

TEST(acts_png, noise_images_are_just_under_the_requested_size) {
  std::mt19937_64 rng{2};
  for (std::size_t target : {std::size_t{1024}, std::size_t{10 * 1024 + 7}, std::size_t{1024 * 1024}}) {
    auto png = noise_png(target, rng);
    EXPECT_LE(png.size(), target);
    EXPECT_GT(static_cast<double>(png.size()), 0.95 * static_cast<double>(target)) << target;
    EXPECT_TRUE(decode(png)) << target;
  }
}

TEST(acts_png, same_seed_gives_the_same_image) {
  std::mt19937_64 a{7};
  std::mt19937_64 b{7};
  EXPECT_EQ(noise_png(5000, a), noise_png(5000, b));
}

} // namespace
