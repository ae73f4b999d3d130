// reverse_stream: publication, slot and spool of a revert window, before the swap.
#include "partshift/migrate/reverse_stream.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include "partshift/pg/quote.hpp"
#include "partshift/plan/partition_spec.hpp"
#include "partshift/spool/job_marker.hpp"
#include "partshift/state/cluster_identity.hpp"
#include "partshift/state/job_spec_codec.hpp"
#include "partshift/state/revert_window.hpp"
#include "partshift/stream/pgoutput_messages.hpp"
#include "partshift/stream/slot_manager.hpp"
#include "partshift/teardown/job_teardown.hpp"

namespace partshift::migrate {

std::string empty_spec_bytes() {
    std::string bytes;
    state::to_proto(plan::partition_spec{}).SerializeToString(&bytes);
    return bytes;
}

state::job_record prepare_reverse_stream(const std::string& dsn, pg::connection& conn,
                                         const state::job_record& job,
                                         std::chrono::seconds slot_timeout) {
    auto reverse = state::reverse_job_for(job, conn.exec("SELECT current_database()").get(0, 0),
                                          empty_spec_bytes());
    teardown::drop_reverse_stream(conn, reverse);
    // The spool first, before anything on the server: drop_reverse_stream removed a stale one
    // only if its marker is this reverse job's; whatever else is at that path stays, and
    // refuses the window (replace_job_spool), never deleted.
    spool::replace_job_spool(reverse.spool_dir, reverse.job, reverse.slot_name,
                             state::cluster_identity(conn));
    // Published through the root: the reverse applier sees one relation, NAME, as the
    // forward one sees the source.
    conn.exec("CREATE PUBLICATION " + pg::escape_identifier(reverse.publication_name) +
              " FOR TABLE " + pg::escape_identifier(job.target_schema) + "." +
              pg::escape_identifier(job.target_table) +
              " WITH (publish_via_partition_root = true)");
    boost::asio::io_context io;
    auto future = boost::asio::co_spawn(
        io, stream::create_slot(dsn, reverse.slot_name, slot_timeout), boost::asio::use_future);
    io.run();
    auto slot = future.get();
    spdlog::info("revert window: publication and slot {} ready at {} for the way back",
                 reverse.slot_name, stream::format_lsn(slot.consistent_point));
    return reverse;
}

}  // namespace partshift::migrate
