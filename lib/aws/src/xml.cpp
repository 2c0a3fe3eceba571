#include "xml.hpp"

#include <charconv>

#include "core/strings.hpp"

namespace aws::detail {

std::string_view local_name(const pugi::xml_node& node) {
  std::string_view name = node.name();
  if (auto colon = name.find(':'); colon != std::string_view::npos) name.remove_prefix(colon + 1);
  return name;
}

pugi::xml_node child(const pugi::xml_node& node, std::string_view name) {
  for (pugi::xml_node item = node.first_child(); item; item = item.next_sibling()) {
    if (item.type() == pugi::node_element && local_name(item) == name) return item;
  }
  return {};
}

pugi::xml_node path(pugi::xml_node node, std::initializer_list<std::string_view> names) {
  for (const auto name : names) {
    if (!node) break;
    node = child(node, name);
  }
  return node;
}

pugi::xml_node descendant(const pugi::xml_node& node, std::string_view name) {
  for (pugi::xml_node item = node.first_child(); item; item = item.next_sibling()) {
    if (item.type() != pugi::node_element) continue;
    if (local_name(item) == name) return item;
    if (auto found = descendant(item, name)) return found;
  }
  return {};
}

std::string text(const pugi::xml_node& node, std::string_view name) {
  const pugi::xml_node found = child(node, name);
  if (!found) return {};
  // A character reference can decode to bytes that are not UTF-8 (&#xD800;).
  return core::utf8_repair(core::trim(found.child_value()));
}

std::optional<std::int64_t> integer(const pugi::xml_node& node, std::string_view name) {
  const std::string value = text(node, name);
  std::int64_t out = 0;
  auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), out);
  if (value.empty() || ec != std::errc{} || ptr != value.data() + value.size()) return std::nullopt;
  return out;
}

std::optional<bool> boolean(const pugi::xml_node& node, std::string_view name) {
  const std::string value = text(node, name);
  if (value == "true") return true;
  if (value == "false") return false;
  return std::nullopt;
}

Tags tags_of(const pugi::xml_node& list, std::string_view item_name, std::string_view key_name,
             std::string_view value_name) {
  Tags tags;
  for_each(list, item_name, [&](const pugi::xml_node& item) {
    tags.push_back(Tag{text(item, key_name), text(item, value_name)});
  });
  return tags;
}

void parse(std::string_view body, Parsed& out) {
  // parse_default keeps entity and character-reference decoding; no DOCTYPE
  // processing happens in pugixml (no external entities).
  const pugi::xml_parse_result result =
      out.document.load_buffer(body.data(), body.size(), pugi::parse_default, pugi::encoding_utf8);
  if (!result) {
    out.error = std::string(result.description()) + " at offset " + std::to_string(result.offset);
  } else if (!out.document.document_element()) {
    out.error = "no root element";
  }
}

}  // namespace aws::detail
