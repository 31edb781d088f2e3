@office365 @graph @needs:office365-graph @needs:app-permissions
Feature: Office 365 integration set up by the Office 365 admin with application permissions
  With application permissions users need no periodic re-authentication; the admin can later
  narrow the app's permissions in Entra ID, e.g. to Calendars.ReadWrite only, and the calendar
  keeps working while contacts report that access was refused.

  Background:
    Given a meeting platform account owned by the admin of tenant "contoso"
    And the admin enables calendar and contacts integration
    And the admin sets the default calendar service to "Office 365" authorized with "Graph API"
    And the admin sets the calendar permission to "Write" and the contacts permission to "Read"
    And the admin chooses that the Office 365 admin sets up the integration with application permissions
    And the admin authorizes the integration as Office 365 admin on behalf of the company
    And the first member of tenant "contoso" has connected Office 365 with the default settings

  @req:APPPERM-01 @req:APPPERM-02
  Scenario: A password change does not interrupt an integration with application permissions
    When the user's password is changed at Microsoft
    And a meeting "Budget review" is added to the user's Office 365 calendar tomorrow at 15:00
    And an hour and a half passes
    And the integration runs its periodic sync
    Then the integration read the calendar without anyone re-authenticating
    And the integration status is "connected"
    And the meeting list shows "Budget review"
    And the user never had to sign in at Microsoft

  @req:APPPERM-04 @req:APPPERM-05 @needs:contacts
  Scenario: Cut down to Calendars.ReadWrite, the calendar keeps working and contacts report a clear status
    When the Office 365 admin removes every application permission of the app but "Calendars.ReadWrite"
    And an hour and a half passes
    And the integration runs its periodic sync
    Then the integration read the calendar without anyone re-authenticating
    And the meeting list shows every meeting of the user's Office 365 calendar in the next 14 days and nothing else
    And the calendar status is "ok"
    And the contact list is empty and the contacts status is "denied" with a message about contacts

  @req:APPPERM-03
  Scenario: Approving the app grants its whole set of application permissions, wider than the platform's choices
    When the integration runs its periodic sync
    Then the Office 365 admin's approval asked Microsoft for the app's whole set of application permissions
    And Microsoft gave the integration an app token with the roles "Calendars.ReadWrite Contacts.ReadWrite User.Read.All"
    And the user's integration reports the access "Calendars.ReadWrite Contacts.ReadWrite User.Read.All" that Microsoft granted
