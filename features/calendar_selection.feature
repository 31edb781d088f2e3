@calendars @needs:calendar-selection
Feature: Sync Zoom Meetings from calendars: the meeting list reads the calendars the user picks
  The user's meeting list shows the events of the calendars they sync ("Turn on the toggle for
  Sync Zoom Meetings from calendars. You can sync any calendar with Zoom by tapping it."). Until
  they pick, the toggle is on and only the default calendar is read. The tap and the blue check
  mark are mobile UI (MOBILE-01, MOBILE-02, not testable here); what this holds the integration
  to is their effect: which calendars are listed and checked, what the meeting list shows, and,
  judged at the provider from its audit log, that a calendar not picked is never read.

  @req:PERM-01
  Scenario Outline: The meeting list follows the calendars the user syncs from <calendar>
    Given the user has connected <calendar> with calendar write permission
    And the user has a meeting on their second calendar tomorrow
    Then the integration lists the user's calendars as the provider does, the default one alone checked
    And the meeting list shows exactly the events of the default calendar
    And the provider was never asked for the second calendar's events
    When the user syncs their default and second calendars
    Then the default and second calendars are checked
    And the meeting list shows exactly the events of the default and second calendars
    And the provider was asked for the second calendar's events
    When the user syncs their default calendar
    And the provider traffic for calendars is marked
    Then the default calendar is checked
    And the meeting list shows exactly the events of the default calendar
    And the provider was since then not asked for the second calendar's events
    When the user syncs their second calendar
    Then the meeting list shows exactly the events of the second calendar
    When the user turns "Sync Zoom Meetings from calendars" off
    And the provider traffic for calendars is marked
    Then the meeting list shows no calendar events
    And the provider was since then not asked for the second calendar's events
    When the user turns "Sync Zoom Meetings from calendars" on
    Then the second calendar is checked
    And the meeting list shows exactly the events of the second calendar
    When the user tries to sync a calendar they do not have
    Then the pick is refused as an unknown calendar
    And the second calendar is checked
    When the user deletes "Second calendar offsite" from their meeting list
    Then the second calendar no longer holds "Second calendar offsite"

    Examples:
      | calendar                 |
      | Office 365 through Graph |
      | Office 365 through EWS   |
      | Google                   |
