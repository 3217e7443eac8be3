// broadcast: the root's buffer lands on every rank. busbw = algbw.
#include "collectives_list.hpp"

namespace awsdt::collectives {

const Collective kBroadcast{"broadcast",
                            false,
                            true,
                            in_place_always,
                            whole_counts,
                            factor_one,
                            factor_one,
                            in_place_at_start,
                            [](const Params& p, const kernels::Pattern& pattern, std::size_t* check) {
                              *check = p.counts.recv;
                              return kernels::Expectation{false, p.op, p.nranks, 0, 0, p.root, pattern, 0};
                            },
                            [](Communicator& c, const void* send, void* recv, const Params& p, Stream& s) {
                              c.broadcast(send, recv, p.counts.param, p.type, p.root, s);
                            }};

}  // namespace awsdt::collectives
