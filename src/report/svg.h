// A small writer of line charts as inline SVG for `remedi report`: axes with "nice" ticks, axis
// labels, a legend, one polyline with point markers per series and 95% intervals as error bars or a
// shaded band. Our own code, so the report needs no script and no external resource.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace remedi::report {

// Text for HTML (and SVG) content and attribute values: & < > " ' become character references, and
// bytes that are not well-formed UTF-8 become U+FFFD, so no file content can change the markup.
std::string escape_html(std::string_view text);

struct ChartPoint {
  double x = 0.0;
  double y = 0.0;
  // The 95% interval, when known; a point whose y is not finite (a NaN written as null) is left out.
  std::optional<double> lower;
  std::optional<double> upper;
};

struct ChartSeries {
  std::string name;
  std::vector<ChartPoint> points;  // in x order
};

enum class IntervalStyle { kErrorBars, kBand };

struct LineChart {
  std::string id;  // the svg's data-chart attribute (lets tests and readers find a chart)
  std::string title;
  std::string x_label;
  std::string y_label;
  std::vector<ChartSeries> series;
  IntervalStyle intervals = IntervalStyle::kErrorBars;
  bool integer_x = true;           // x values are layers: ticks at whole numbers only
  std::optional<double> marker_x;  // a vertical dashed line (the selected layer)
  std::string marker_label;
  int width = 530;  // two charts side by side on a 1200-pixel page
};

// About `target` evenly spaced tick values with a step of 1, 2 or 5 times a power of ten, covering
// [lower, upper] (the first tick <= lower, the last >= upper). Needs lower < upper and target >= 2.
std::vector<double> nice_ticks(double lower, double upper, int target);

// The chart as an <svg> element (no XML declaration), ready to be placed in an HTML page.
std::string render_svg(const LineChart& chart);

}  // namespace remedi::report
