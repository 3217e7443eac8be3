// reduce_scatter: block r of the reduction over all ranks lands on rank r. algbw counts all n blocks;
// busbw = algbw * (n-1)/n.
#include "collectives_list.hpp"

namespace awsdt::collectives {

const Collective kReduceScatter{"reduce_scatter",
                                true,
                                false,
                                in_place_always,
                                [](std::size_t count, int n) {
                                  std::size_t per = count / std::size_t(n);
                                  return Counts{per * std::size_t(n), per, per};
                                },
                                [](int n) { return double(n); },
                                [](int n) { return double(n - 1) / n; },
                                [](const Params& p) {
                                  return InPlace{0, std::size_t(p.rank) * p.counts.param};
                                },
                                [](const Params& p, const kernels::Pattern& pattern, std::size_t* check) {
                                  *check = p.counts.recv;
                                  return kernels::Expectation{true, p.op, p.nranks, std::size_t(p.rank) * p.counts.recv,
                                                              0,    0,    pattern,  avg_tolerance(p, pattern)};
                                },
                                [](Communicator& c, const void* send, void* recv, const Params& p, Stream& s) {
                                  c.reduce_scatter(send, recv, p.counts.param, p.type, p.op, s);
                                }};

}  // namespace awsdt::collectives
