// metrics_scrape: a free port and a /metrics scrape, over Boost.Asio.
#include "support/metrics_scrape.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <sstream>

namespace partshift::testing {

int free_port() {
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor acceptor(
        io, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
    return acceptor.local_endpoint().port();
}

std::map<std::string, double> scrape(int port) {
    std::map<std::string, double> samples;
    try {
        boost::asio::io_context io;
        boost::asio::ip::tcp::socket socket(io);
        socket.connect({boost::asio::ip::make_address("127.0.0.1"), static_cast<uint16_t>(port)});
        const std::string request = "GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n";
        boost::asio::write(socket, boost::asio::buffer(request));
        std::string response;
        boost::system::error_code ec;
        boost::asio::read(socket, boost::asio::dynamic_buffer(response), ec);  // to EOF
        if (response.rfind("HTTP/1.", 0) != 0 || response.find(" 200 ") == std::string::npos)
            return samples;
        std::istringstream body(response.substr(response.find("\r\n\r\n") + 4));
        for (std::string line; std::getline(body, line);) {
            if (line.empty() || line[0] == '#') continue;
            const size_t space = line.rfind(' ');
            samples[line.substr(0, space)] = std::stod(line.substr(space + 1));
        }
    } catch (const std::exception&) {
    }
    return samples;
}

}  // namespace partshift::testing
