// spool_sink: message → spool record, and flush bookkeeping. No decoding, no apply.
#include "partshift/migrate/spool_sink.hpp"

#include "partshift/spool/record_conversion.hpp"

namespace partshift::migrate {

void spool_sink::append(const stream::message& msg) {
    if (!spool::is_spooled(msg)) return;
    proto::spool_record& record = arena_.fresh();
    spool::fill_spool_record(msg, record);
    unflushed_ += record.ByteSizeLong() + 8;  // + the frame header
    writer_.append(record);
}

void spool_sink::record_position(stream::lsn_t lsn) {
    writer_.record_position(lsn);
    unflushed_ += 64;  // a small record; counted so flush() is not skipped
}

stream::lsn_t spool_sink::flush() {
    auto durable = writer_.flush();
    unflushed_ = 0;
    notify_if_grew();
    return durable;
}

void spool_sink::publish() {
    writer_.publish();
    notify_if_grew();
}

void spool_sink::notify_if_grew() {
    // The streamer publishes after every read, most of them adding nothing the feed has not
    // seen: wake the feed only for new records.
    if (writer_.written_position() == told_) return;
    told_ = writer_.written_position();
    signal_.notify();
}

}  // namespace partshift::migrate
