// Response helpers shared by the server's handlers.
#pragma once

#include <httplib.h>

#include "server/openai_api.h"

namespace rs::server {

void send_json(httplib::Response& res, int status, const json& body);
// An OpenAI error object; 429 and 503 carry Retry-After.
void send_error(httplib::Response& res, const ApiError& e);

}  // namespace rs::server
