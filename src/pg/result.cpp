// result: typed access to PGresult cells; no I/O.
#include "partshift/pg/result.hpp"

#include <charconv>
#include <stdexcept>

#include "partshift/pg/pg_error.hpp"

namespace partshift::pg {

int result::column(const char* name) const {
    int col = PQfnumber(raw_.get(), name);
    if (col < 0) throw std::logic_error(std::string("query result has no column ") + name);
    return col;
}

std::string_view result::view(int row, int col) const {
    if (row < 0 || row >= rows() || col < 0 || col >= columns())
        throw std::out_of_range("result cell out of range");
    return {PQgetvalue(raw_.get(), row, col),
            static_cast<size_t>(PQgetlength(raw_.get(), row, col))};
}

std::optional<std::string> result::opt(int row, int col) const {
    if (is_null(row, col)) return std::nullopt;
    return get(row, col);
}

int64_t result::get_int(int row, int col) const {
    std::string_view text = view(row, col);
    int64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size())
        throw std::runtime_error("expected an integer, got '" + std::string(text) + "'");
    return value;
}

std::string result::error_message() const {
    const char* primary = PQresultErrorField(raw_.get(), PG_DIAG_MESSAGE_PRIMARY);
    if (primary) {
        std::string message = primary;
        if (const char* detail = PQresultErrorField(raw_.get(), PG_DIAG_MESSAGE_DETAIL))
            message += std::string(" (") + detail + ")";
        return message;
    }
    std::string message = PQresultErrorMessage(raw_.get());
    while (!message.empty() && (message.back() == '\n' || message.back() == ' '))
        message.pop_back();
    return message;
}

std::string result::sqlstate() const {
    const char* state = PQresultErrorField(raw_.get(), PG_DIAG_SQLSTATE);
    return state ? state : "";
}

}  // namespace partshift::pg
