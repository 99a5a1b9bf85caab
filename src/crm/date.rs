//! Calendar time as the CIB writes it: ISO 8601 / RFC 3339 timestamps (`2026-11-26T08:00:00Z`),
//! ISO 8601 durations (`PT1H`) for `resource move --lifetime`, and the `ctime` layout status
//! displays use. UTC only; plain arithmetic on epoch seconds, no clock in here.

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(month);
    let day_of_year =
        (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The date of a day number (inverse of [`days_from_civil`]).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Formats epoch seconds as RFC 3339 UTC: `2026-11-26T08:00:00Z`.
pub fn format_rfc3339(epoch: i64) -> String {
    let (days, secs) = (epoch.div_euclid(86_400), epoch.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// Formats epoch seconds as `ctime` does in UTC, the layout of crm_mon's "Last updated":
/// `Thu Nov 26 06:42:12 2026`.
pub fn format_ctime(epoch: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (days, secs) = (epoch.div_euclid(86_400), epoch.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    format!(
        "{} {} {day:>2} {:02}:{:02}:{:02} {year}",
        DAYS[days.rem_euclid(7) as usize],
        MONTHS[month as usize - 1],
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// Reads an ISO 8601 date or date-time as Pacemaker's date expressions accept it:
/// `2026-11-26`, `2026-11-26 08:00:00`, `2026-11-26T08:00:00Z`, `2026-11-26T08:00Z`,
/// with an optional `+HH:MM`/`-HH:MM` offset (no offset means UTC). Returns epoch seconds.
pub fn parse_iso8601(text: &str) -> Option<i64> {
    let text = text.trim();
    let (date, time) = match text.find(['T', ' ']) {
        Some(index) => (&text[..index], Some(&text[index + 1..])),
        None => (text, None),
    };
    let mut parts = date.split('-');
    let year: i64 = parts.next()?.parse().ok()?;
    let month: u32 = parts.next()?.parse().ok()?;
    let day: u32 = parts.next()?.parse().ok()?;
    if parts.next().is_some() || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let mut seconds = days_from_civil(year, month, day) * 86_400;
    if let Some(time) = time {
        let (clock, offset) = split_offset(time)?;
        let mut fields = clock.split(':');
        let hour: i64 = fields.next()?.parse().ok()?;
        let minute: i64 = fields.next().map_or(Some(0), |m| m.parse().ok())?;
        let second: i64 = match fields.next() {
            // Fractions of a second are accepted and dropped.
            Some(s) => s.split('.').next()?.parse().ok()?,
            None => 0,
        };
        if fields.next().is_some() || hour > 24 || minute > 59 || second > 60 {
            return None;
        }
        seconds += hour * 3600 + minute * 60 + second - offset;
    }
    Some(seconds)
}

/// Splits `08:00:00+02:00` into the clock and the offset in seconds east of UTC.
fn split_offset(time: &str) -> Option<(&str, i64)> {
    if let Some(clock) = time.strip_suffix('Z') {
        return Some((clock, 0));
    }
    let Some(index) = time.rfind(['+', '-']) else {
        return Some((time, 0));
    };
    let (clock, offset) = time.split_at(index);
    let sign = if offset.starts_with('-') { -1 } else { 1 };
    let mut fields = offset[1..].split(':');
    let hours: i64 = fields.next()?.parse().ok()?;
    let minutes: i64 = fields.next().map_or(Some(0), |m| m.parse().ok())?;
    Some((clock, sign * (hours * 3600 + minutes * 60)))
}

/// Reads a lifetime: an ISO 8601 duration (`PT1H`, `P1DT12H`, `PT90S`, `P2W`; months count
/// as 30 days, years as 365) or a plain duration (`90s`, `30min`, `1h`, a bare number is
/// seconds). Returns seconds; `None` when unreadable or zero.
pub fn parse_lifetime(text: &str) -> Option<u64> {
    let text = text.trim();
    let seconds = match text.strip_prefix(['P', 'p']) {
        Some(rest) => parse_iso_duration(rest)?,
        None => super::cib::parse_duration_ms(text)? / 1000,
    };
    (seconds > 0).then_some(seconds)
}

fn parse_iso_duration(text: &str) -> Option<u64> {
    let mut total: u64 = 0;
    let mut in_time = false;
    let mut number = String::new();
    let mut any = false;
    for c in text.chars() {
        match c.to_ascii_uppercase() {
            'T' if number.is_empty() && !in_time => in_time = true,
            '0'..='9' => number.push(c),
            unit => {
                let value: u64 = number.parse().ok()?;
                number.clear();
                let factor = match (unit, in_time) {
                    ('Y', false) => 365 * 86_400,
                    ('M', false) => 30 * 86_400,
                    ('W', false) => 7 * 86_400,
                    ('D', false) => 86_400,
                    ('H', true) => 3600,
                    ('M', true) => 60,
                    ('S', true) => 1,
                    _ => return None,
                };
                total = total.checked_add(value.checked_mul(factor)?)?;
                any = true;
            }
        }
    }
    (number.is_empty() && any).then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trips_through_the_parser() {
        for epoch in [0, 951_782_400, 1_795_681_332, 4_102_444_800, -86_400] {
            assert_eq!(
                parse_iso8601(&format_rfc3339(epoch)),
                Some(epoch),
                "{epoch}"
            );
        }
        assert_eq!(format_rfc3339(1_795_681_332), "2026-11-26T08:22:12Z");
        assert_eq!(format_rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn iso8601_forms_and_offsets_are_read() {
        let utc = parse_iso8601("2026-11-26T08:00:00Z").unwrap();
        assert_eq!(parse_iso8601("2026-11-26 08:00:00"), Some(utc));
        assert_eq!(parse_iso8601("2026-11-26T08:00Z"), Some(utc));
        assert_eq!(parse_iso8601("2026-11-26T10:00:00+02:00"), Some(utc));
        assert_eq!(parse_iso8601("2026-11-26T07:00:00.25-01:00"), Some(utc));
        assert_eq!(parse_iso8601("2026-11-26"), Some(utc - 8 * 3600));
        assert_eq!(parse_iso8601("2026-13-01"), None);
        assert_eq!(parse_iso8601("soon"), None);
    }

    #[test]
    fn ctime_layout_matches_crm_mon() {
        assert_eq!(format_ctime(0), "Thu Jan  1 00:00:00 1970");
        assert_eq!(format_ctime(1_795_681_332), "Thu Nov 26 08:22:12 2026");
    }

    #[test]
    fn lifetimes_read_iso_and_plain_durations() {
        assert_eq!(parse_lifetime("PT1H"), Some(3600));
        assert_eq!(
            parse_lifetime("P1DT12H30M5S"),
            Some(86_400 + 12 * 3600 + 1805)
        );
        assert_eq!(parse_lifetime("P2W"), Some(14 * 86_400));
        assert_eq!(parse_lifetime("PT90S"), Some(90));
        assert_eq!(parse_lifetime("30min"), Some(1800));
        assert_eq!(parse_lifetime("45"), Some(45));
        assert_eq!(parse_lifetime("P1H"), None);
        assert_eq!(parse_lifetime("PT"), None);
        assert_eq!(parse_lifetime("PT0S"), None);
        assert_eq!(parse_lifetime("tomorrow"), None);
    }
}
