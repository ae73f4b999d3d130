// result: owns one PGresult and gives typed, bounds-checked access to its cells.
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace partshift::pg {

struct result_deleter {
    void operator()(PGresult* r) const noexcept { PQclear(r); }
};

class result {
  public:
    result() = default;
    explicit result(PGresult* raw) : raw_(raw) {}

    explicit operator bool() const noexcept { return raw_ != nullptr; }
    PGresult* native() const noexcept { return raw_.get(); }
    ExecStatusType status() const noexcept { return PQresultStatus(raw_.get()); }

    int rows() const noexcept { return raw_ ? PQntuples(raw_.get()) : 0; }
    int columns() const noexcept { return raw_ ? PQnfields(raw_.get()) : 0; }
    // column returns the index of a named column; throws if the query did not return it.
    int column(const char* name) const;
    bool is_null(int row, int col) const { return PQgetisnull(raw_.get(), row, col) != 0; }

    // Text value of a cell ("" for NULL); use opt() where NULL must be told apart.
    std::string_view view(int row, int col) const;
    std::string get(int row, int col) const { return std::string(view(row, col)); }
    std::string get(int row, const char* name) const { return get(row, column(name)); }
    std::optional<std::string> opt(int row, int col) const;
    std::optional<std::string> opt(int row, const char* name) const {
        return opt(row, column(name));
    }
    int64_t get_int(int row, int col) const;
    int64_t get_int(int row, const char* name) const { return get_int(row, column(name)); }
    bool get_bool(int row, int col) const { return view(row, col) == "t"; }
    bool get_bool(int row, const char* name) const { return get_bool(row, column(name)); }

    // Message and SQLSTATE of an error result.
    std::string error_message() const;
    std::string sqlstate() const;

  private:
    std::unique_ptr<PGresult, result_deleter> raw_;
};

}  // namespace partshift::pg
