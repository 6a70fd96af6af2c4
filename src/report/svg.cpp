#include "report/svg.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>

#include "util/utf8.h"

namespace remedi::report {

namespace {

// Ten distinguishable colours; series beyond ten reuse them (the legend still tells them apart).
constexpr std::array<const char*, 10> kPalette{"#1f6fb4", "#e8740c", "#2a9d3a", "#d1342f", "#8a5cc2",
                                               "#8c564b", "#d45fb0", "#6f6f6f", "#a8a81c", "#15a7b8"};

// Plot geometry in pixels.
constexpr double kMarginLeft = 66.0;
constexpr double kMarginRight = 18.0;
constexpr double kPlotTop = 38.0;
constexpr double kPlotHeight = 220.0;
constexpr double kLegendRow = 18.0;
constexpr double kCharWidth = 6.6;  // a rough width of one character at font-size 12, for the legend flow

std::string fixed(double value, int decimals) {
  std::array<char, 64> buffer{};
  std::snprintf(buffer.data(), buffer.size(), "%.*f", decimals, value);
  std::string text = buffer.data();
  // "-0.0" reads as a different number from "0.0" to a reader; print zero one way.
  if (text.find_first_not_of("-0.") == std::string::npos && text.front() == '-') text.erase(0, 1);
  return text;
}

std::string px(double value) { return fixed(value, 1); }

double nice_step(double range, int intervals) {
  const double raw = range / std::max(intervals, 1);
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  const double normalized = raw / magnitude;
  double nice = 10.0;
  if (normalized < 1.5) {
    nice = 1.0;
  } else if (normalized < 3.0) {
    nice = 2.0;
  } else if (normalized < 7.0) {
    nice = 5.0;
  }
  return nice * magnitude;
}

// Enough decimals to tell ticks `step` apart (0.05 → 2, 0.2 → 1, 5 → 0); the tolerance absorbs the
// rounding in a step taken as the difference of two ticks (0.30000000000000004 - 0.2).
int tick_decimals(double step) {
  if (step >= 1.0) return 0;
  return std::clamp(static_cast<int>(std::ceil(-std::log10(step) - 1e-6)), 0, 6);
}

// A value a chart can place: finite and at most 1e12 in size (a metric of 1e308 would make the axis
// span infinite and every coordinate NaN). Other points are left out, as NaN ones are.
bool plottable(double v) { return std::isfinite(v) && std::abs(v) <= 1e12; }

bool has_interval(const ChartPoint& p) {
  return p.lower && p.upper && plottable(*p.lower) && plottable(*p.upper);
}

struct Range {
  double lower = std::numeric_limits<double>::infinity();
  double upper = -std::numeric_limits<double>::infinity();
  void add(double v) {
    if (!plottable(v)) return;
    lower = std::min(lower, v);
    upper = std::max(upper, v);
  }
  bool empty() const { return lower > upper; }
};

}  // namespace

std::string escape_html(std::string_view text) {
  const std::string valid = decode_utf8_lossy(text);
  std::string out;
  out.reserve(valid.size());
  for (const char c : valid) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::vector<double> nice_ticks(double lower, double upper, int target) {
  const double step = nice_step(upper - lower, std::max(target - 1, 1));
  const auto first = static_cast<std::int64_t>(std::floor(lower / step + 1e-9));
  const auto last = static_cast<std::int64_t>(std::ceil(upper / step - 1e-9));
  std::vector<double> ticks;
  // Multiply rather than accumulate, so 0.1 + 0.1 + 0.1 drift cannot add or drop a tick.
  for (std::int64_t k = first; k <= last; ++k) ticks.push_back(static_cast<double>(k) * step);
  return ticks;
}

std::string render_svg(const LineChart& chart) {
  const double width = chart.width;
  const double plot_left = kMarginLeft;
  const double plot_right = width - kMarginRight;
  const double plot_bottom = kPlotTop + kPlotHeight;

  Range xs;
  Range ys;
  for (const ChartSeries& s : chart.series) {
    for (const ChartPoint& p : s.points) {
      if (!plottable(p.y) || !plottable(p.x)) continue;
      xs.add(p.x);
      ys.add(p.y);
      if (has_interval(p)) {
        ys.add(*p.lower);
        ys.add(*p.upper);
      }
    }
  }

  // The legend flows left to right and wraps; its height decides the picture's height.
  struct LegendItem {
    double x;
    double y;
  };
  std::vector<LegendItem> legend;
  const double legend_top = plot_bottom + 52.0;
  double cursor = plot_left;
  double row = 0.0;
  for (const ChartSeries& s : chart.series) {
    const double item = 34.0 + kCharWidth * static_cast<double>(s.name.size()) + 14.0;
    if (cursor + item > plot_right && cursor > plot_left) {
      cursor = plot_left;
      row += 1.0;
    }
    legend.push_back({cursor, legend_top + row * kLegendRow});
    cursor += item;
  }
  const double height = legend_top + (chart.series.empty() ? 0.0 : (row + 1.0) * kLegendRow);

  std::string out;
  out += "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" data-chart=\"" + escape_html(chart.id) +
         "\" width=\"" + px(width) + "\" height=\"" + px(height) + "\" viewBox=\"0 0 " + px(width) + " " +
         px(height) + "\" role=\"img\" aria-label=\"" + escape_html(chart.title) +
         "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  out += "<title>" + escape_html(chart.title) + "</title>\n";
  out +=
      "<rect x=\"0\" y=\"0\" width=\"" + px(width) + "\" height=\"" + px(height) + "\" fill=\"#ffffff\"/>\n";
  out += "<text class=\"chart-title\" x=\"" + px(width / 2.0) +
         "\" y=\"20\" text-anchor=\"middle\" font-size=\"14\" font-weight=\"bold\">" +
         escape_html(chart.title) + "</text>\n";

  if (xs.empty() || ys.empty()) {
    out += "<text x=\"" + px(width / 2.0) + "\" y=\"" + px(kPlotTop + kPlotHeight / 2.0) +
           "\" text-anchor=\"middle\" fill=\"#777777\">no data</text>\n</svg>";
    return out;
  }

  // x: the data's extent with a little room so edge points do not sit on the axes.
  double x_lo = xs.lower;
  double x_hi = xs.upper;
  if (x_hi - x_lo < 1e-12) {
    x_lo -= 1.0;
    x_hi += 1.0;
  }
  const double x_pad = (x_hi - x_lo) * 0.05;
  x_lo -= x_pad;
  x_hi += x_pad;
  double x_step = nice_step(xs.upper - xs.lower > 0 ? xs.upper - xs.lower : 2.0, 8);
  if (chart.integer_x) x_step = std::max(1.0, std::round(x_step));
  std::vector<double> x_ticks;
  for (auto k = static_cast<std::int64_t>(std::ceil(x_lo / x_step)); static_cast<double>(k) * x_step <= x_hi;
       ++k)
    x_ticks.push_back(static_cast<double>(k) * x_step);

  // y: widened to whole ticks, so the axis starts and ends on a labelled value.
  double y_min = ys.lower;
  double y_max = ys.upper;
  if (y_max - y_min < 1e-12) {
    const double pad = std::abs(y_min) > 1e-12 ? std::abs(y_min) * 0.1 : 0.5;
    y_min -= pad;
    y_max += pad;
  }
  const std::vector<double> y_ticks = nice_ticks(y_min, y_max, 6);
  const double y_lo = y_ticks.front();
  const double y_hi = y_ticks.back();
  const int y_decimals = tick_decimals(y_ticks.size() > 1 ? y_ticks[1] - y_ticks[0] : 1.0);
  const int x_decimals = tick_decimals(x_step);

  const auto to_x = [&](double x) {
    return plot_left + (x - x_lo) / (x_hi - x_lo) * (plot_right - plot_left);
  };
  const auto to_y = [&](double y) { return plot_bottom - (y - y_lo) / (y_hi - y_lo) * kPlotHeight; };

  // Grid, axes, ticks and labels.
  out += "<g class=\"grid\" stroke=\"#e4e4e4\" stroke-width=\"1\">\n";
  for (const double t : y_ticks) {
    out += "<line x1=\"" + px(plot_left) + "\" y1=\"" + px(to_y(t)) + "\" x2=\"" + px(plot_right) +
           "\" y2=\"" + px(to_y(t)) + "\"/>\n";
  }
  out += "</g>\n<g class=\"axes\" stroke=\"#333333\" stroke-width=\"1\">\n";
  out += "<line x1=\"" + px(plot_left) + "\" y1=\"" + px(plot_bottom) + "\" x2=\"" + px(plot_right) +
         "\" y2=\"" + px(plot_bottom) + "\"/>\n";
  out += "<line x1=\"" + px(plot_left) + "\" y1=\"" + px(kPlotTop) + "\" x2=\"" + px(plot_left) + "\" y2=\"" +
         px(plot_bottom) + "\"/>\n";
  for (const double t : x_ticks) {
    out += "<line x1=\"" + px(to_x(t)) + "\" y1=\"" + px(plot_bottom) + "\" x2=\"" + px(to_x(t)) +
           "\" y2=\"" + px(plot_bottom + 5.0) + "\"/>\n";
  }
  for (const double t : y_ticks) {
    out += "<line x1=\"" + px(plot_left - 5.0) + "\" y1=\"" + px(to_y(t)) + "\" x2=\"" + px(plot_left) +
           "\" y2=\"" + px(to_y(t)) + "\"/>\n";
  }
  out += "</g>\n<g class=\"tick-labels\" fill=\"#333333\">\n";
  for (const double t : x_ticks) {
    out += "<text x=\"" + px(to_x(t)) + "\" y=\"" + px(plot_bottom + 18.0) + "\" text-anchor=\"middle\">" +
           fixed(t, x_decimals) + "</text>\n";
  }
  for (const double t : y_ticks) {
    out += "<text x=\"" + px(plot_left - 8.0) + "\" y=\"" + px(to_y(t) + 4.0) + "\" text-anchor=\"end\">" +
           fixed(t, y_decimals) + "</text>\n";
  }
  out += "</g>\n";
  out += "<text class=\"axis-label\" x=\"" + px((plot_left + plot_right) / 2.0) + "\" y=\"" +
         px(plot_bottom + 36.0) + "\" text-anchor=\"middle\">" + escape_html(chart.x_label) + "</text>\n";
  out += "<text class=\"axis-label\" transform=\"translate(16 " + px(kPlotTop + kPlotHeight / 2.0) +
         ") rotate(-90)\" text-anchor=\"middle\">" + escape_html(chart.y_label) + "</text>\n";

  if (chart.marker_x && *chart.marker_x >= x_lo && *chart.marker_x <= x_hi) {
    const double mx = to_x(*chart.marker_x);
    out += "<g class=\"marker\"><line x1=\"" + px(mx) + "\" y1=\"" + px(kPlotTop) + "\" x2=\"" + px(mx) +
           "\" y2=\"" + px(plot_bottom) + "\" stroke=\"#999999\" stroke-dasharray=\"4 3\"/><text x=\"" +
           px(mx + 4.0) + "\" y=\"" + px(kPlotTop + 10.0) + "\" fill=\"#666666\" font-size=\"11\">" +
           escape_html(chart.marker_label) + "</text></g>\n";
  }

  for (std::size_t i = 0; i < chart.series.size(); ++i) {
    const ChartSeries& s = chart.series[i];
    const char* color = kPalette[i % kPalette.size()];
    std::vector<const ChartPoint*> points;
    for (const ChartPoint& p : s.points) {
      if (plottable(p.x) && plottable(p.y)) points.push_back(&p);
    }
    out += "<g class=\"series\" data-series=\"" + escape_html(s.name) + "\">\n";
    if (chart.intervals == IntervalStyle::kBand) {
      std::string upper;
      std::string lower;
      for (const ChartPoint* p : points) {
        if (!has_interval(*p)) continue;
        upper += px(to_x(p->x)) + "," + px(to_y(*p->upper)) + " ";
        lower.insert(0, px(to_x(p->x)) + "," + px(to_y(*p->lower)) + " ");
      }
      if (!upper.empty()) {
        out += "<polygon class=\"ci-band\" points=\"";
        out += upper;
        out += lower;
        out += std::string("\" fill=\"") + color + "\" fill-opacity=\"0.14\" stroke=\"none\"/>\n";
      }
    } else {
      std::string d;
      for (const ChartPoint* p : points) {
        if (!has_interval(*p)) continue;
        const double x = to_x(p->x);
        const double lo = to_y(*p->lower);
        const double hi = to_y(*p->upper);
        d += "M" + px(x) + " " + px(lo) + "V" + px(hi) + "M" + px(x - 4.0) + " " + px(lo) + "H" +
             px(x + 4.0) + "M" + px(x - 4.0) + " " + px(hi) + "H" + px(x + 4.0);
      }
      if (!d.empty()) {
        out += "<path class=\"ci-bars\" d=\"";
        out += d;
        out += std::string("\" stroke=\"") + color +
               "\" stroke-width=\"1.2\" fill=\"none\" stroke-opacity=\"0.75\"/>\n";
      }
    }
    std::string line;
    for (const ChartPoint* p : points) line += px(to_x(p->x)) + "," + px(to_y(p->y)) + " ";
    if (!line.empty()) line.pop_back();
    out += "<polyline class=\"line\" points=\"";
    out += line;
    out += std::string("\" fill=\"none\" stroke=\"") + color + "\" stroke-width=\"2\"/>\n";
    for (const ChartPoint* p : points) {
      std::string tip = s.name + " at " + fixed(p->x, x_decimals) + ": " + fixed(p->y, 3);
      if (has_interval(*p)) tip += " [" + fixed(*p->lower, 3) + ", " + fixed(*p->upper, 3) + "]";
      out += "<circle class=\"point\" cx=\"" + px(to_x(p->x)) + "\" cy=\"" + px(to_y(p->y)) +
             "\" r=\"3.2\" fill=\"" + color + "\"><title>" + escape_html(tip) + "</title></circle>\n";
    }
    out += "</g>\n";
  }

  out += "<g class=\"legend\">\n";
  for (std::size_t i = 0; i < chart.series.size(); ++i) {
    const char* color = kPalette[i % kPalette.size()];
    const LegendItem& at = legend[i];
    out += "<line x1=\"" + px(at.x) + "\" y1=\"" + px(at.y) + "\" x2=\"" + px(at.x + 24.0) + "\" y2=\"" +
           px(at.y) + "\" stroke=\"" + color + "\" stroke-width=\"2\"/><circle cx=\"" + px(at.x + 12.0) +
           "\" cy=\"" + px(at.y) + "\" r=\"3.2\" fill=\"" + color + "\"/><text x=\"" + px(at.x + 30.0) +
           "\" y=\"" + px(at.y + 4.0) + "\">" + escape_html(chart.series[i].name) + "</text>\n";
  }
  out += "</g>\n</svg>";
  return out;
}

}  // namespace remedi::report
