// params: turns C++ values into libpq text parameters, so every value reaches SQL as a
// parameter and never by string concatenation (DESIGN.md invariant 7).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace partshift::pg {

// A text-format parameter; nullopt is SQL NULL.
using param = std::optional<std::string>;
using param_list = std::vector<param>;

inline param to_param(std::nullopt_t) {
    return std::nullopt;
}
inline param to_param(const param& p) {
    return p;
}
inline param to_param(std::string s) {
    return s;
}
inline param to_param(std::string_view s) {
    return std::string(s);
}
inline param to_param(const char* s) {
    return s ? param(s) : std::nullopt;
}
inline param to_param(bool b) {
    return std::string(b ? "true" : "false");
}
template <typename T>
requires std::is_integral_v<T> &&(!std::is_same_v<T, bool>)param to_param(T v) {
    return std::to_string(v);
}

template <typename... Args>
param_list make_params(Args&&... args) {
    param_list list;
    list.reserve(sizeof...(args));
    (list.push_back(to_param(std::forward<Args>(args))), ...);
    return list;
}

// Pointers into a param_list in the form PQexecParams wants; valid while the list lives.
struct param_pointers {
    explicit param_pointers(const param_list& list) {
        values.reserve(list.size());
        for (const auto& p : list) values.push_back(p ? p->c_str() : nullptr);
    }
    int count() const { return static_cast<int>(values.size()); }
    const char* const* data() const { return values.empty() ? nullptr : values.data(); }
    std::vector<const char*> values;
};

}  // namespace partshift::pg
