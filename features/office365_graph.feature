@office365 @graph @needs:office365-graph
Feature: Office 365 calendar integration through Microsoft Graph
  An account admin chooses Office 365 (Graph API) as the default calendar service with the
  Calendar/Read permission; users connect their calendars through OAuth 2.0 and see their
  meetings, and the integration asks Microsoft for nothing more than the admin allowed.

  Background:
    Given a meeting platform account owned by the admin of tenant "contoso"

  @req:SVC-01
  Scenario: Calendar and contacts integration is on for a new account
    Then the account setting "calendar_integration" is on

  @req:ADMIN-04
  Scenario: Only the account owner or an admin can change the integration settings
    When the first member of tenant "contoso" sets the default calendar service to "Office 365" authorized with "Graph API"
    Then the change is refused because the actor is not an owner or admin
    And the account settings are unchanged

  @req:SVC-02 @req:SVC-03 @req:GRAPH-03 @req:SCOPE-01 @req:OAUTH-03 @req:PERM-01
  @req:SETUP-04 @req:SETUP-05 @req:SETUP-06
  Scenario: A user connects Office 365 with Calendar/Read and sees their meetings
    Given the admin enables calendar and contacts integration
    And the admin sets the default calendar service to "Office 365" authorized with "Graph API"
    And the admin sets the calendar permission to "Read" and the contacts permission to "None"
    And the first member of tenant "contoso" has these meetings in their Office 365 calendar:
      | subject            | starts in days | at    | minutes |
      | Quarterly planning | 1              | 10:00 | 60      |
      | Design review      | 2              | 14:30 | 45      |
      | Customer call      | 3              | 09:00 | 30      |
    When the user sets up the calendar integration with the default service and accepts the consent
    Then the set-up brings the user back to their profile showing the integration connected
    And the integration status is "connected"
    And the meeting list shows those meetings
    And the meeting list shows every meeting of the user's Office 365 calendar in the next 7 days and nothing else
    And the identity provider was asked for the scope "Calendars.Read"
    And the identity provider was asked for no write scope
    And no write call reached Microsoft Graph

  @req:SETUP-05
  Scenario: After an abandoned sign-in the user sets up again, clicks Accept and is connected
    Given the admin enables calendar and contacts integration
    And the first member of tenant "contoso" started the set-up and closed the Microsoft sign-in page
    When the user sets up the calendar integration with the default service and accepts the consent
    Then the integration status is "connected"
