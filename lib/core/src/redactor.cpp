#include "core/redactor.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <deque>
#include <mutex>
#include <span>
#include <utility>

namespace core {
namespace {

constexpr std::string_view kMask = "[REDACTED]";

// ---- bytes -------------------------------------------------------------------------------------

// ASCII lower case; other bytes (UTF-8 included) unchanged. Everything is compared folded.
constexpr unsigned char fold(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u >= 'A' && u <= 'Z' ? static_cast<unsigned char>(u + ('a' - 'A')) : u;
}

constexpr bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
constexpr bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
constexpr bool is_digit(char c) { return c >= '0' && c <= '9'; }
constexpr bool is_alnum(char c) { return is_upper(c) || is_lower(c) || is_digit(c); }

// What a Slack token is made of. Real ones use letters, digits and '-'; the finding had '_' and
// '/'; xoxd- (the `d` cookie) is base64, raw ('/', '+', '=') or URL-encoded ('%'); '.' joins
// xoxe.xoxp-. Not '\\' or '"': inside JSON the token then ends before an escape or the string's
// end, so the mask never swallows half of `\"` (which would end the string early).
constexpr bool is_token_char(char c) {
  switch (c) {
    case '-':
    case '_':
    case '.':
    case '/':
    case '+':
    case '=':
    case '%':
      return true;
    default:
      return is_alnum(c);
  }
}

constexpr bool is_base64_char(char c) { return is_alnum(c) || c == '/' || c == '+'; }

// The two folded bytes a match can start with: the scan's filter key.
constexpr std::uint16_t pair_key(char a, char b) {
  return static_cast<std::uint16_t>(fold(a) << 8 | fold(b));
}

// ---- the built-in patterns ---------------------------------------------------------------------

// A match at `start`: text[start, start + keep) is shown (a token's family, a key id's prefix,
// a label), text[start + keep, end) is masked. end == 0: no match (a plain struct rather than
// an optional: it is returned in registers on the scan's path).
struct Match {
  std::size_t start = 0;
  std::size_t keep = 0;
  std::size_t end = 0;

  explicit operator bool() const { return end != 0; }
};
constexpr Match kNoMatch{};

// Slack token families (folded), and the dashless forms only xoxe has.
constexpr std::array<std::string_view, 10> kSlackFamilies = {
    "xoxa", "xoxb", "xoxc", "xoxd", "xoxe", "xoxo", "xoxp", "xoxr", "xoxs", "xapp"};
// The old rule for `xoxe` glued to its value ("xoxeABCDEF…"): long enough not to be a word.
constexpr std::size_t kMinDashlessToken = 6;

std::size_t token_end(std::string_view text, std::size_t from) {
  while (from < text.size() && is_token_char(text[from])) ++from;
  return from;
}

bool folded_equals(std::string_view text, std::size_t at, std::string_view folded) {
  if (text.size() - at < folded.size()) return false;
  for (std::size_t k = 0; k < folded.size(); ++k) {
    if (fold(text[at + k]) != static_cast<unsigned char>(folded[k])) return false;
  }
  return true;
}

Match slack_token_at(std::string_view text, std::size_t i) {
  if (text.size() - i < 5) return kNoMatch;
  const auto family = std::find_if(kSlackFamilies.begin(), kSlackFamilies.end(),
                                   [&](std::string_view f) { return folded_equals(text, i, f); });
  if (family == kSlackFamilies.end()) return kNoMatch;
  const char separator = text[i + 4];
  if (separator == '-') {
    const auto end = token_end(text, i + 5);
    if (end > i + 5) return Match{i, 5, end};
    return kNoMatch;
  }
  if (*family != "xoxe") return kNoMatch;
  if (separator == '.') {  // xoxe.xoxp-1-…, xoxe.xoxb-1-…: rotating access tokens
    const auto end = token_end(text, i + 5);
    if (end > i + 5) return Match{i, 4, end};
    return kNoMatch;
  }
  const auto end = token_end(text, i + 4);
  if (end - (i + 4) >= kMinDashlessToken) return Match{i, 4, end};
  return kNoMatch;
}

// IAM unique-id prefixes (folded): access keys (AKIA long-term, ASIA temporary), roles, users,
// groups, managed policies and their versions, public keys, bearer tokens, context-specific
// credentials, instance profiles, certificates.
constexpr std::array<std::string_view, 12> kKeyIdPrefixes = {
    "akia", "asia", "aroa", "aida", "agpa", "anpa", "anva", "apka", "abia", "acca", "aipa", "asca"};
// Four folded bytes as one number.
constexpr std::uint32_t folded_word(std::string_view text, std::size_t i) {
  return std::uint32_t{fold(text[i])} << 24 | std::uint32_t{fold(text[i + 1])} << 16 |
         std::uint32_t{fold(text[i + 2])} << 8 | std::uint32_t{fold(text[i + 3])};
}
constexpr auto kKeyIdWords = [] {
  std::array<std::uint32_t, kKeyIdPrefixes.size()> words{};
  for (std::size_t k = 0; k < words.size(); ++k) words[k] = folded_word(kKeyIdPrefixes[k], 0);
  return words;
}();
// Access key ids are 20 characters today; the API allows up to 128 (AccessKeyId's constraint).
constexpr std::size_t kMinKeyId = 20;
constexpr std::size_t kMaxKeyId = 128;

// The whole id must be in one case (upper as AWS writes it, or lower as some tool lowered it),
// so that words and CamelCase names ("Asiapacific…") are left alone.
Match key_id_at(std::string_view text, std::size_t i) {
  if (text.size() - i < kMinKeyId) return kNoMatch;
  const bool upper = is_upper(text[i]);
  const auto same_class = [upper](char c) {
    return is_digit(c) || (upper ? is_upper(c) : is_lower(c));
  };
  if (i > 0 && same_class(text[i - 1])) return kNoMatch;
  // Most candidates are words ("and", "are"): one comparison of four folded bytes each.
  if (std::find(kKeyIdWords.begin(), kKeyIdWords.end(), folded_word(text, i)) ==
      kKeyIdWords.end()) {
    return kNoMatch;
  }
  std::size_t end = i;
  while (end < text.size() && same_class(text[end])) ++end;
  const auto size = end - i;
  if (size < kMinKeyId || size > kMaxKeyId) return kNoMatch;
  return Match{i, 4, end};
}

// Labelled values. The words may be joined by '_', '-', ' ' or nothing, in any case:
// aws_secret_access_key, SecretAccessKey, AWS_SESSION_TOKEN, X-Amz-Security-Token.
struct Label {
  std::array<std::string_view, 3> words;
  bool token;  // a session token (16+ base64 chars, '=' and '%' too) rather than a 40-char key
};
constexpr std::array<Label, 3> kLabels = {Label{{"secret", "access", "key"}, false},
                                          Label{{"session", "token", ""}, true},
                                          Label{{"security", "token", ""}, true}};
// Between a label and its value: quotes (also JSON-escaped ones), blanks, then ':' or '='.
constexpr std::size_t kMaxLabelGap = 8;
constexpr std::size_t kSecretKeySize = 40;
constexpr std::size_t kMinLabelledToken = 16;

bool is_gap_char(char c) { return c == '"' || c == '\'' || c == '\\' || c == ' ' || c == '\t'; }

std::size_t skip_gap(std::string_view text, std::size_t at) {
  const auto limit = std::min(text.size(), at + kMaxLabelGap);
  while (at < limit && is_gap_char(text[at])) ++at;
  return at;
}

Match labelled_value_at(std::string_view text, std::size_t i) {
  // "se" starts many words; the labels go on with 'c' or 's'.
  if (i + 2 >= text.size() || (fold(text[i + 2]) != 'c' && fold(text[i + 2]) != 's')) {
    return kNoMatch;
  }
  for (const auto& label : kLabels) {
    std::size_t at = i;
    bool matched = true;
    for (std::size_t w = 0; w < label.words.size() && !label.words[w].empty(); ++w) {
      if (w > 0 && at < text.size() && (text[at] == '_' || text[at] == '-' || text[at] == ' ')) {
        ++at;
      }
      if (!folded_equals(text, at, label.words[w])) {
        matched = false;
        break;
      }
      at += label.words[w].size();
    }
    if (!matched) continue;
    at = skip_gap(text, at);
    if (at >= text.size() || (text[at] != ':' && text[at] != '=')) return kNoMatch;
    const auto value = skip_gap(text, at + 1);
    auto end = value;
    if (label.token) {
      while (end < text.size() &&
             (is_base64_char(text[end]) || text[end] == '=' || text[end] == '%')) {
        ++end;
      }
      if (end - value >= kMinLabelledToken) return Match{i, value - i, end};
    } else {
      while (end < text.size() && is_base64_char(text[end])) ++end;
      // Exactly a key's size (base64 of 30 bytes: no '=' after it).
      if (end - value == kSecretKeySize && (end == text.size() || text[end] != '=')) {
        return Match{i, value - i, end};
      }
    }
    return kNoMatch;
  }
  return kNoMatch;
}

// ---- registered secrets ------------------------------------------------------------------------

// How a byte of a secret may be written in text besides itself: percent-encoded (URLs, form
// bodies; either case of hex, as the comparison is folded) and, for '/', JSON's optional "\/".
// Other bytes of AWS and Slack secrets are never encoded.
constexpr std::array<std::string_view, 2> kSlashForms = {"%2f", "\\/"};
constexpr std::array<std::string_view, 1> kPlusForms = {"%2b"};
constexpr std::array<std::string_view, 1> kEqualsForms = {"%3d"};

std::span<const std::string_view> other_forms(char c) {
  switch (c) {
    case '/':
      return kSlashForms;
    case '+':
      return kPlusForms;
    case '=':
      return kEqualsForms;
    default:
      return {};
  }
}

// Length of the text at `i` that spells `folded` (a folded secret), or 0.
std::size_t secret_at(std::string_view text, std::size_t i, std::string_view folded) {
  std::size_t at = i;
  for (const char c : folded) {
    if (at >= text.size()) return 0;
    if (fold(text[at]) == static_cast<unsigned char>(c)) {
      ++at;
      continue;
    }
    bool encoded = false;
    for (const auto form : other_forms(c)) {
      if (folded_equals(text, at, form)) {
        at += form.size();
        encoded = true;
        break;
      }
    }
    if (!encoded) return 0;
  }
  return at - i;
}

std::string folded_copy(std::string_view text) {
  std::string out(text.size(), '\0');
  std::transform(text.begin(), text.end(), out.begin(),
                 [](char c) { return static_cast<char>(fold(c)); });
  return out;
}

// ---- snapshot: what redact() reads -------------------------------------------------------------

// A set of pair keys (8 KB: stays in L1 while a text is scanned).
class PairSet {
 public:
  void insert(std::uint16_t key) { words_[key >> 6] |= std::uint64_t{1} << (key & 63); }
  bool contains(std::uint16_t key) const { return (words_[key >> 6] >> (key & 63)) & 1; }

 private:
  std::array<std::uint64_t, 65536 / 64> words_{};
};

// The two bytes at `p` as they sit in memory: the hot loop's key, one unaligned load and no
// folding (every case of a folded pair is inserted instead, by add_raw_cases).
std::uint16_t raw_key(const char* p) {
  std::uint16_t key;
  std::memcpy(&key, p, sizeof key);
  return key;
}

void add_raw_cases(PairSet& set, std::uint16_t folded_key) {
  const auto cases = [](char c) {
    const auto upper = is_lower(c) ? static_cast<char>(c - ('a' - 'A')) : c;
    return std::array<char, 2>{c, upper};
  };
  for (const char first : cases(static_cast<char>(folded_key >> 8))) {
    for (const char second : cases(static_cast<char>(folded_key & 0xff))) {
      const std::array<char, 2> bytes = {first, second};
      set.insert(raw_key(bytes.data()));
    }
  }
}

PairSet builtin_triggers() {
  PairSet triggers;
  for (auto family : kSlackFamilies) add_raw_cases(triggers, pair_key(family[0], family[1]));
  for (auto prefix : kKeyIdPrefixes) add_raw_cases(triggers, pair_key(prefix[0], prefix[1]));
  for (const auto& label : kLabels) {
    add_raw_cases(triggers, pair_key(label.words[0][0], label.words[0][1]));
  }
  return triggers;
}

// Snapshot generations, unique in the process (not per State: a thread's cached snapshot must
// never be taken for another State's that happens to have the same number).
std::atomic<std::uint64_t> g_generations{0};

}  // namespace

// Immutable once published. The scan looks at each pair of bytes once: `triggers` says whether
// any pattern or secret can start with it, and only then are the candidates tried, so the cost
// of a text without secrets hardly depends on how many are registered.
struct Redactor::Snapshot {
  Snapshot(std::vector<std::string> folded_secrets, std::uint64_t number)
      : generation(number), secrets(std::move(folded_secrets)), triggers(builtin_triggers()) {
    // Longest first, so a secret that contains another is hidden whole.
    std::stable_sort(secrets.begin(), secrets.end(),
                     [](const auto& a, const auto& b) { return a.size() > b.size(); });
    for (std::uint32_t index = 0; index < secrets.size(); ++index) {
      const auto& secret = secrets[index];
      // The first two bytes of each way the secret may be written.
      std::vector<std::pair<char, char>> heads = {{secret[0], secret[1]}};
      for (const auto form : other_forms(secret[1])) heads.emplace_back(secret[0], form[0]);
      for (const auto form : other_forms(secret[0])) heads.emplace_back(form[0], form[1]);
      for (const auto& [first, second] : heads) {
        const auto key = pair_key(first, second);
        add_raw_cases(triggers, key);
        secret_pairs.insert(key);
        starts.emplace_back(key, index);
      }
    }
    // By key, then longest secret first; duplicates (same pair by two encodings) dropped.
    std::sort(starts.begin(), starts.end());
    starts.erase(std::unique(starts.begin(), starts.end()), starts.end());
  }

  // The longest registered secret at text[i] whose folded pair is `key`, or kNoMatch.
  Match secret_match_at(std::string_view text, std::size_t i, std::uint16_t key) const {
    if (!secret_pairs.contains(key)) return kNoMatch;
    const auto range = std::equal_range(
        starts.begin(), starts.end(), std::pair<std::uint16_t, std::uint32_t>{key, 0},
        [](const auto& a, const auto& b) { return a.first < b.first; });
    for (auto it = range.first; it != range.second; ++it) {
      // The first that matches is the longest: they are sorted longest first.
      if (const auto size = secret_at(text, i, secrets[it->second])) return Match{i, 0, i + size};
    }
    return kNoMatch;
  }

  // The longest match starting at text[i] (i + 1 < text.size(), its pair in `triggers`), or
  // kNoMatch.
  Match match_at(std::string_view text, std::size_t i) const {
    const auto key = pair_key(text[i], text[i + 1]);
    Match best = secret_match_at(text, i, key);
    Match pattern;
    switch (key >> 8) {  // the built-in patterns by their (folded) first byte
      case 'x':
        pattern = slack_token_at(text, i);
        break;
      case 'a':
        pattern = key_id_at(text, i);
        break;
      case 's':
        pattern = labelled_value_at(text, i);
        break;
      default:
        break;
    }
    // Longer wins; on a tie the pattern, which shows a family or label (a secret shows nothing).
    if (pattern.end >= best.end && pattern) best = pattern;
    return best;
  }

  // The first match at or after `from`, grown over registered secrets that start inside it and
  // end beyond it (a token whose charset stops short of the secret that holds it), and never
  // ending inside a backslash escape. Patterns are not looked for inside a match: each scans a
  // run of bytes, and a run full of "xoxb-" would make that quadratic.
  Match next_match(std::string_view text, std::size_t from) const {
    if (text.size() < 2) return kNoMatch;
    // The hot loop: one table test per byte.
    const auto* data = text.data();
    for (std::size_t i = from; i + 1 < text.size(); ++i) {
      if (!triggers.contains(raw_key(data + i))) [[likely]] {
        continue;
      }
      auto match = match_at(text, i);
      if (!match) continue;
      for (std::size_t j = i + 1; j < match.end && j + 1 < text.size(); ++j) {
        if (!triggers.contains(raw_key(data + j))) continue;
        const auto inner = secret_match_at(text, j, pair_key(text[j], text[j + 1]));
        if (inner.end > match.end) match.end = inner.end;
      }
      std::size_t backslashes = 0;
      for (auto k = match.end; k > match.start + match.keep && text[k - 1] == '\\'; --k) {
        ++backslashes;
      }
      if (backslashes % 2 == 1 && match.end < text.size()) ++match.end;  // the escaped byte
      return match;
    }
    return kNoMatch;
  }

  std::uint64_t generation;                                     // unique in the process
  std::vector<std::string> secrets;                             // folded, longest first
  std::vector<std::pair<std::uint16_t, std::uint32_t>> starts;  // (pair key, index in secrets)
  PairSet triggers;      // raw pairs (every case) a pattern or a secret starts with
  PairSet secret_pairs;  // folded pairs a secret starts with
};

// ---- state: shared by the copies of one Redactor -----------------------------------------------

struct Redactor::State {
  State() { publish(); }

  // Builds and publishes a snapshot of the current secrets (`mutex` held, or in the
  // constructor).
  void publish() {
    std::vector<std::string> all = pinned;
    all.insert(all.end(), rotating.begin(), rotating.end());
    const auto number = g_generations.fetch_add(1, std::memory_order_relaxed) + 1;
    auto next = std::make_shared<const Snapshot>(std::move(all), number);
    {
      std::lock_guard lock(latest_mutex);
      latest = std::move(next);
    }
    generation.store(number, std::memory_order_release);
  }

  // The current snapshot. Each thread keeps the last one it used and checks it with one atomic
  // load of `generation`, a line written only when secrets are added: no lock and no shared
  // reference count on the way (an atomic<shared_ptr> load writes both, and costs ~50 ns per
  // call once two threads redact at once). Only the first call on a thread after a change takes
  // `latest_mutex`, for a pointer copy. (libstdc++ 12's atomic<shared_ptr> is also invisible to
  // TSan: google/sanitizers#1558.) A thread's copy keeps one old snapshot alive until its next
  // call; a thread's thread_local is gone after it exits, so no redact() from static destructors.
  const Snapshot& current() const {
    thread_local std::shared_ptr<const Snapshot> cached;
    const auto number = generation.load(std::memory_order_acquire);
    if (!cached || cached->generation != number) {
      std::lock_guard lock(latest_mutex);
      cached = latest;
    }
    return *cached;
  }

  // Whether `folded` is registered already (mutex held).
  bool known(const std::string& folded) const {
    return std::find(pinned.begin(), pinned.end(), folded) != pinned.end() ||
           std::find(rotating.begin(), rotating.end(), folded) != rotating.end();
  }

  std::mutex mutex;                  // writers; redact() never takes it
  std::vector<std::string> pinned;   // folded, for the life of the process
  std::deque<std::string> rotating;  // folded, oldest first
  mutable std::mutex latest_mutex;   // guards `latest` (a pointer copy at most)
  std::shared_ptr<const Snapshot> latest;
  std::atomic<std::uint64_t> generation{0};
};

Redactor::Redactor() : state_(std::make_shared<State>()) {}

Redactor::Redactor(std::vector<std::string> secrets) : Redactor() {
  std::lock_guard lock(state_->mutex);
  for (const auto& secret : secrets) {
    if (secret.size() < kMinSecretSize) continue;
    auto folded = folded_copy(secret);
    if (!state_->known(folded)) state_->pinned.push_back(std::move(folded));
  }
  state_->publish();
}

void Redactor::add_secret(std::string_view secret) {
  if (secret.size() < kMinSecretSize) return;
  auto folded = folded_copy(secret);
  std::lock_guard lock(state_->mutex);
  if (std::find(state_->pinned.begin(), state_->pinned.end(), folded) != state_->pinned.end()) {
    return;
  }
  // A rotating value made permanent moves over (it must not be evicted with its peers).
  std::erase(state_->rotating, folded);
  state_->pinned.push_back(std::move(folded));
  state_->publish();
}

void Redactor::add_rotating_secret(std::string_view secret) {
  if (secret.size() < kMinSecretSize) return;
  auto folded = folded_copy(secret);
  std::lock_guard lock(state_->mutex);
  auto& rotating = state_->rotating;
  if (std::find(state_->pinned.begin(), state_->pinned.end(), folded) != state_->pinned.end()) {
    return;
  }
  if (const auto it = std::find(rotating.begin(), rotating.end(), folded); it != rotating.end()) {
    // Seen again (two chains with the same role, a refresh that returned the same keys): now the
    // newest, so it outlives older ones. The set is the same: no new snapshot.
    rotating.erase(it);
    rotating.push_back(std::move(folded));
    return;
  }
  rotating.push_back(std::move(folded));
  while (rotating.size() > kMaxRotatingSecrets) rotating.pop_front();
  state_->publish();
}

std::string Redactor::redact(std::string_view text) const {
  const auto* snapshot = &state_->current();
  auto match = snapshot->next_match(text, 0);
  if (!match) return std::string(text);
  std::string out;
  out.reserve(text.size());
  std::size_t done = 0;
  while (match) {
    out.append(text.substr(done, match.start + match.keep - done));
    // An odd run of backslashes before the mask escapes the masked byte ("\n" + a secret that
    // starts with 'n'); the mask must not become what they escape ("\[" is not JSON).
    const auto last = out.find_last_not_of('\\');
    const auto backslashes = out.size() - (last == std::string::npos ? 0 : last + 1);
    if (backslashes % 2 == 1) out.pop_back();
    out.append(kMask);
    done = match.end;
    match = snapshot->next_match(text, done);
  }
  out.append(text.substr(done));
  return out;
}

bool Redactor::contains_secret(std::string_view text) const {
  return static_cast<bool>(state_->current().next_match(text, 0));
}

std::size_t Redactor::secret_count() const { return state_->current().secrets.size(); }

}  // namespace core
