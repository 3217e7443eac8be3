// all_gather: rank r's buffer lands in block r of everyone's output. algbw counts all n blocks;
// busbw = algbw * (n-1)/n.
#include "collectives_list.hpp"

namespace awsdt::collectives {

const Collective kAllGather{"all_gather",
                            false,
                            false,
                            in_place_always,
                            [](std::size_t count, int n) {
                              std::size_t per = count / std::size_t(n);
                              return Counts{per, per * std::size_t(n), per};
                            },
                            [](int n) { return double(n); },
                            [](int n) { return double(n - 1) / n; },
                            [](const Params& p) {
                              return InPlace{std::size_t(p.rank) * p.counts.param, 0};
                            },
                            [](const Params& p, const kernels::Pattern& pattern, std::size_t* check) {
                              *check = p.counts.recv;
                              return kernels::Expectation{false, p.op, p.nranks, 0, p.counts.param, 0, pattern, 0};
                            },
                            [](Communicator& c, const void* send, void* recv, const Params& p, Stream& s) {
                              c.all_gather(send, recv, p.counts.param, p.type, s);
                            }};

}  // namespace awsdt::collectives
