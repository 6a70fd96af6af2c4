// A small PNG decoder for tests that look at screenshots (the report test opens its page in headless
// Chromium): checks the chunk CRCs, inflates the image data with zlib and undoes the five scanline
// filters, so a test can count what was really drawn rather than trust a file size.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace remedi::test {

struct PngImage {
  std::size_t width = 0;
  std::size_t height = 0;
  int color_type = 0;                 // 0 gray, 2 RGB, 3 palette, 4 gray + alpha, 6 RGBA
  std::size_t channels = 0;           // samples per pixel in `samples`
  std::vector<std::uint8_t> samples;  // unfiltered, row after row
  std::vector<std::uint8_t> palette;  // RGB triples (color type 3)
};

// Decodes a PNG file's bytes: bit depth 8, not interlaced (what browsers write). Throws
// std::runtime_error naming what is wrong for anything else or a damaged file.
PngImage decode_png(const std::string& bytes);

// Pixel (x, y) as red, green, blue composited onto white.
struct Rgb {
  int r = 0;
  int g = 0;
  int b = 0;
};
Rgb pixel(const PngImage& image, std::size_t x, std::size_t y);

// Fractions of the image's pixels that are not near white (any channel below `threshold`) and that
// are coloured (channels differ by more than `spread`: chart lines, badges, not black text).
double non_white_fraction(const PngImage& image, int threshold = 245);
double colored_fraction(const PngImage& image, int spread = 60);

// The encoder half, for testing the decoder: RGB rows, row y written with filter type y % 5 (so five
// rows use every filter), compressed with zlib, framed in IHDR/IDAT/IEND chunks with CRCs.
std::string encode_png_rgb(std::size_t width, std::size_t height, const std::vector<std::uint8_t>& rgb);

}  // namespace remedi::test
