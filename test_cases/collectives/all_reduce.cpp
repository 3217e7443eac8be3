// all_reduce: every rank ends with the reduction of all ranks' buffers. busbw = algbw * 2(n-1)/n.
#include "collectives_list.hpp"

namespace awsdt::collectives {

const Collective kAllReduce{"all_reduce",
                            true,
                            false,
                            in_place_always,
                            whole_counts,
                            factor_one,
                            [](int n) { return 2.0 * (n - 1) / n; },
                            in_place_at_start,
                            [](const Params& p, const kernels::Pattern& pattern, std::size_t* check) {
                              *check = p.counts.recv;
                              return kernels::Expectation{true, p.op, p.nranks, 0,
                                                          0,    0,    pattern,  avg_tolerance(p, pattern)};
                            },
                            [](Communicator& c, const void* send, void* recv, const Params& p, Stream& s) {
                              c.all_reduce(send, recv, p.counts.param, p.type, p.op, s);
                            }};

}  // namespace awsdt::collectives
