// all_to_all: block j of rank i's buffer goes to block i of rank j. algbw counts all n blocks;
// busbw = algbw * (n-1)/n. In place is not defined on NCCL (grouped send/recv would race): timed, not checked.
#include "collectives_list.hpp"

namespace awsdt::collectives {

const Collective kAllToAll{"all_to_all",
                           false,
                           false,
                           [](const CommCapabilities& caps) { return caps.in_place_all_to_all; },
                           [](std::size_t count, int n) {
                             std::size_t per = count / std::size_t(n);
                             return Counts{per * std::size_t(n), per * std::size_t(n), per};
                           },
                           [](int n) { return double(n); },
                           [](int n) { return double(n - 1) / n; },
                           in_place_at_start,
                           [](const Params& p, const kernels::Pattern& pattern, std::size_t* check) {
                             *check = p.counts.recv;
                             // Block j comes from rank j's block p.rank, whose first global index is p.rank * param.
                             return kernels::Expectation{
                                 false,          p.op, p.nranks, std::size_t(p.rank) * p.counts.param,
                                 p.counts.param, 0,    pattern,  0};
                           },
                           [](Communicator& c, const void* send, void* recv, const Params& p, Stream& s) {
                             c.all_to_all(send, recv, p.counts.param, p.type, s);
                           }};

}  // namespace awsdt::collectives
