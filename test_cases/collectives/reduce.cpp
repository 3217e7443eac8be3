// reduce: the reduction over all ranks lands on the root only. busbw = algbw.
#include "collectives_list.hpp"

namespace awsdt::collectives {

const Collective kReduce{"reduce",
                         true,
                         true,
                         in_place_always,
                         whole_counts,
                         factor_one,
                         factor_one,
                         in_place_at_start,
                         [](const Params& p, const kernels::Pattern& pattern, std::size_t* check) {
                           *check = p.rank == p.root ? p.counts.recv : 0;
                           return kernels::Expectation{true, p.op, p.nranks, 0,
                                                       0,    0,    pattern,  avg_tolerance(p, pattern)};
                         },
                         [](Communicator& c, const void* send, void* recv, const Params& p, Stream& s) {
                           c.reduce(send, recv, p.counts.param, p.type, p.op, p.root, s);
                         }};

}  // namespace awsdt::collectives
