// send_recv: a ring, each rank sends to rank+1 and receives from rank-1 at once. busbw = algbw.
// In place is not defined (sending and receiving one buffer at the same time would race): on NCCL it is timed,
// as nccl-tests does, and not checked; on MPI it is not run.
#include "collectives_list.hpp"

namespace awsdt::collectives {

const Collective kSendRecv{"send_recv",
                           false,
                           false,
                           in_place_never,
                           whole_counts,
                           factor_one,
                           factor_one,
                           in_place_at_start,
                           [](const Params& p, const kernels::Pattern& pattern, std::size_t* check) {
                             *check = p.counts.recv;
                             return kernels::Expectation{
                                 false, p.op, p.nranks, 0, 0, (p.rank + p.nranks - 1) % p.nranks, pattern, 0};
                           },
                           [](Communicator& c, const void* send, void* recv, const Params& p, Stream& s) {
                             c.group_start();
                             c.send(send, p.counts.param, p.type, (p.rank + 1) % p.nranks, s);
                             c.recv(recv, p.counts.param, p.type, (p.rank + p.nranks - 1) % p.nranks, s);
                             c.group_end();
                           }};

}  // namespace awsdt::collectives
