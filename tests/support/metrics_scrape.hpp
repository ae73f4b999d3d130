// metrics_scrape: what tests of `--metrics-addr` need: a free local port, and a scrape of
// /metrics into its samples.
#pragma once

#include <map>
#include <string>

namespace partshift::testing {

// free_port: a TCP port nobody listened on a moment ago.
int free_port();

// scrape: GET /metrics over a plain socket; the samples by series ("name{labels}" → value).
// Empty when nothing answers.
std::map<std::string, double> scrape(int port);

}  // namespace partshift::testing
